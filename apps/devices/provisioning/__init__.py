"""Provisioning: players known before they are switched on (serial number, screen, name, barcode, sticker),
written through the API or imported from CSV in the console; a player that registers with a known serial
number is paired without a pairing code when its fleet allows it (`Fleet.provisioning_by_serial`)."""
