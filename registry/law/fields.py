"""Request fields checked against the reference data: country codes and data categories."""

from __future__ import annotations

import marshmallow as ma

from . import countries, taxonomy


class CountryCode(ma.fields.String):
    """An ISO 3166-1 alpha-2 country code."""

    def __init__(self, **kwargs):
        metadata = {
            "description": "ISO 3166-1 alpha-2 country code",
            "example": "NL",
            "pattern": "^[A-Z]{2}$",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if not countries.is_country(code):
            hint = countries.suggestion(code)
            message = f"{code!r} is not an ISO 3166-1 alpha-2 country code."
            raise ma.ValidationError(message + (f" Did you mean {hint!r}?" if hint else ""))
        return code


class DataCategory(ma.fields.String):
    """A fideslang data-category key such as user.contact.email."""

    def __init__(self, **kwargs):
        metadata = {
            "description": "fideslang data-category key",
            "example": "user.contact.email",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        key = super()._deserialize(value, attr, data, **kwargs)
        if not taxonomy.is_data_category(key):
            near = taxonomy.nearest(key)
            hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
            raise ma.ValidationError(
                f"{key!r} is not a data category of the fideslang default taxonomy "
                f"(GET /v1/data-categories lists the keys).{hint}"
            )
        return key
