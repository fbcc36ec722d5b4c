"""The account's own pages: the second step of sign-in, the account page with two-factor sign-in, single sign-on."""
from django.urls import path

from dashboard import sso

from . import accounts, api_tokens, second_factor

urlpatterns = [
    path("login/code/", accounts.sign_in_code, name="login-code"),
    path("account/", second_factor.account, name="account"),
    path("account/second-factor/", second_factor.start, name="second-factor-start"),
    path("account/second-factor/confirm/", second_factor.confirm, name="second-factor-confirm"),
    path("account/second-factor/remove/", second_factor.remove, name="second-factor-remove"),
    path("account/tokens/", api_tokens.create, name="api-token-create"),
    path("account/tokens/<int:pk>/revoke/", api_tokens.revoke, name="api-token-revoke"),
    path("oidc/authenticate/", sso.authenticate, name="oidc-authenticate"),
    path("oidc/callback/", sso.callback, name="oidc-callback"),
]
