from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .sign_in import on_sign_in

        user_logged_in.connect(on_sign_in, dispatch_uid="cryo-session-clocks")
