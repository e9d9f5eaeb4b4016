from django import template

from ..console import plays_chart

register = template.Library()


@register.inclusion_tag("stats/plays_chart.html", takes_context=True)
def plays_chart_for(context, screen=None, campaign=None):
    """`{% plays_chart_for screen=original %}` or `campaign=original` on a console page."""
    request = context["request"]
    if screen is not None:
        zone = screen.timezone or screen.fleet.timezone
    else:
        zone = campaign.fleet.timezone if campaign is not None else "UTC"
    chart = plays_chart(user=request.user, params=request.GET, zone=zone, screen=screen, campaign=campaign)
    return {"chart": chart, "request": request}
