"""Sign-in, sign-out and password change: Django's own views, with Cryo's templates."""
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

login = auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()
password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html", success_url=reverse_lazy("password_change_done")
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html")
