from django.shortcuts import render


def home(request):
    """`/`: where to go — the console, the API and its documentation, the pairing form, the web player."""
    return render(request, "console/home.html")
