"""Screenshots of players: uploaded through the device protocol, kept with a thumbnail (the last N per
player, a fleet setting), listed per player, and taken periodically when the fleet asks for it."""
