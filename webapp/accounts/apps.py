from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webapp.accounts"
    label = "accounts"

    def ready(self) -> None:
        from webapp.accounts import revocation, schema  # noqa: F401  (schema registers the OpenAPI auth extension)

        revocation.connect_receivers()
