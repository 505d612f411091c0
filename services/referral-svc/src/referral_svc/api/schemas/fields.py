"""The field types, the partial-update base and the response base that every body of referral-svc shares."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from eoc_shared.api import StrictModel
from eoc_shared.text import Prose, Text
from referral_svc.domain.nhs_number import is_valid_nhs_number

_POSTCODE_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _district(v: str) -> str:
    v = v.strip().upper()
    if not _POSTCODE_DISTRICT.match(v):
        raise ValueError("must be the outward part of a UK postcode, e.g. LS6 or SW1A")
    return v


def _language(v: str) -> str:
    v = v.strip().lower()
    if not _LANGUAGE.match(v):
        raise ValueError("must be a two-letter ISO 639-1 language code, e.g. en")
    return v


def _nhs_number(v: str) -> str:
    digits = v.replace(" ", "")
    if not (len(digits) == 10 and digits.isdigit()):
        raise ValueError("must be 10 digits")
    if not is_valid_nhs_number(digits):
        raise ValueError("is not a valid NHS number (check digit does not match)")
    return digits


# Every text field follows contract v1.1's policy (eoc_shared.text): no controls, NFC; then its own rule.
Reference = Annotated[Text, Field(max_length=64)]
Note = Annotated[Prose, Field(min_length=1, max_length=2000), AfterValidator(_not_blank)]
PostcodeDistrict = Annotated[Text, Field(max_length=8), AfterValidator(_district)]
Language = Annotated[Text, Field(max_length=2, description="ISO 639-1 code, e.g. en, pl, ur"), AfterValidator(_language)]
NhsNumber = Annotated[Text, Field(max_length=16), AfterValidator(_nhs_number)]


class PatchModel(StrictModel):
    """A partial update: fields left out stay as they are; `null` is refused where a value is required."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None and name in cls.model_fields and name not in cls.nullable:
                    raise_null(name)
        return data

    @model_validator(mode="after")
    def _something(self) -> PatchModel:
        if not self.model_fields_set:
            raise ValueError("names no field to change")
        return self


def raise_null(name: str) -> None:
    from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

    raise ValidationError.from_exception_data(
        "PatchModel",
        [InitErrorDetails(type=PydanticCustomError("null_refused", "cannot be null; leave it out to keep it"),
                          loc=(name,), input=None)],
    )


class ReadModel(BaseModel):
    """A response body: read from the ORM rows and dataclasses the operations return (`model_validate(obj)`)."""

    model_config = ConfigDict(from_attributes=True)
