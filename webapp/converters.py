"""URL converters: ids are 1 to 18 digits, so any id that reaches a query fits a 64-bit integer."""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

# For DRF routers' lookup_value_regex.
ID_REGEX = IdConverter.regex
