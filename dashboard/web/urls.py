from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import path


def overview(request):
    return HttpResponse("Cryo")


urlpatterns = [
    path("", overview, name="overview"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
]
