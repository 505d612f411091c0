"""The closed vocabularies of public contract v1, as string enums, for every service.

Values are exactly the strings partners send and receive, so a member serialises to JSON as
itself and compares equal to the plain string stored in the database. Kept once, here: a code
added for one service (a new placement type, say) is then accepted by all of them.
"""

from __future__ import annotations

from enum import StrEnum


class Programme(StrEnum):
    MST = "MST"
    MST_BSF = "MST_BSF"
    FFT_CW = "FFT_CW"
    FFT_REUNIFICATION = "FFT_REUNIFICATION"
    FGC = "FGC"
    OTHER_PREVENTION = "OTHER_PREVENTION"


class RiskFactor(StrEnum):
    BEHAVIOUR = "behaviour"
    OFFENDING = "offending"
    SCHOOL_EXCLUSION = "school_exclusion"
    PHYSICAL_ABUSE = "physical_abuse"
    NEGLECT = "neglect"
    EMOTIONAL_ABUSE = "emotional_abuse"
    SEXUAL_ABUSE_ACTIVE = "sexual_abuse_active"
    SEXUAL_HARM = "sexual_harm"
    PSYCHOSIS = "psychosis"
    DOMESTIC_ABUSE = "domestic_abuse"
    SUBSTANCE_MISUSE = "substance_misuse"
    EXPLOITATION = "exploitation"
    FAMILY_BREAKDOWN = "family_breakdown"
    PARENTAL_MENTAL_HEALTH = "parental_mental_health"


class ReferralSource(StrEnum):
    LEGAL_PLANNING_MEETING = "legal_planning_meeting"
    SOCIAL_WORKER = "social_worker"
    REUNIFICATION_REVIEW = "reunification_review"
    PARTNER_AGENCY = "partner_agency"


class Sex(StrEnum):
    F = "F"
    M = "M"
    U = "U"


class Ethnicity(StrEnum):
    """DfE ethnicity codes as listed in the contract (the 903 / CIN census main categories)."""

    WBRI = "WBRI"
    WIRI = "WIRI"
    WOTH = "WOTH"
    WIRT = "WIRT"
    WROM = "WROM"
    MWBC = "MWBC"
    MWBA = "MWBA"
    MWAS = "MWAS"
    MOTH = "MOTH"
    AIND = "AIND"
    APKN = "APKN"
    ABAN = "ABAN"
    AOTH = "AOTH"
    CHNE = "CHNE"
    BCRB = "BCRB"
    BAFR = "BAFR"
    BOTH = "BOTH"
    OOTH = "OOTH"
    REFU = "REFU"
    NOBT = "NOBT"


class LegalStatus(StrEnum):
    NONE = "NONE"
    CIN = "CIN"
    CPP = "CPP"
    LAC = "LAC"


class PlacementType(StrEnum):
    """SSDA903 `PLACE` codes (DfE children looked after return).

    Only codes that exist in the return; retired codes (e.g. the old F/H/Q series) and
    guessed neighbours such as R4 or U7 are deliberately absent.
    """

    A3 = "A3"
    A4 = "A4"
    A5 = "A5"
    A6 = "A6"
    H5 = "H5"
    K1 = "K1"
    K2 = "K2"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R5 = "R5"
    S1 = "S1"
    T0 = "T0"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    U1 = "U1"
    U2 = "U2"
    U3 = "U3"
    U4 = "U4"
    U5 = "U5"
    U6 = "U6"
    Z1 = "Z1"

    @property
    def description(self) -> str:
        return PLACEMENT_TYPE_DESCRIPTIONS[self]


PLACEMENT_TYPE_DESCRIPTIONS: dict[PlacementType, str] = {
    PlacementType.A3: "Placed for adoption with parental consent, with current foster carer(s)",
    PlacementType.A4: "Placed for adoption with parental consent, not with current foster carer(s)",
    PlacementType.A5: "Placed for adoption with a placement order, with current foster carer(s)",
    PlacementType.A6: "Placed for adoption with a placement order, not with current foster carer(s)",
    PlacementType.H5: "Semi-independent living accommodation not subject to children's homes regulations",
    PlacementType.K1: "Secure children's home",
    PlacementType.K2: "Children's home subject to the Children's Homes Regulations",
    PlacementType.P1: "Placed with own parent(s) or other person(s) with parental responsibility",
    PlacementType.P2: (
        "Independent living (flat, lodgings, bedsit, B&B or with friends), with or without formal support"
    ),
    PlacementType.P3: "Residential employment",
    PlacementType.R1: "Residential care home",
    PlacementType.R2: "NHS or health trust establishment providing medical or nursing care",
    PlacementType.R3: "Family centre or mother and baby unit",
    PlacementType.R5: "Young offender institution (YOI)",
    PlacementType.S1: "Residential school, except where dual-registered as a school and children's home",
    PlacementType.T0: "Temporary move of any type",
    PlacementType.T1: "Temporary period in hospital",
    PlacementType.T2: "Temporary absence of the child on holiday",
    PlacementType.T3: "Temporary accommodation while the usual foster carer(s) are on holiday",
    PlacementType.T4: "Temporary accommodation of seven days or less not covered by T1 to T3",
    PlacementType.U1: "Foster placement with relative(s) or friend(s): long-term fostering",
    PlacementType.U2: (
        "Foster placement with relative(s) or friend(s) who are approved adopters: "
        "fostering for adoption or concurrent planning"
    ),
    PlacementType.U3: (
        "Foster placement with relative(s) or friend(s): "
        "neither long-term nor fostering for adoption or concurrent planning"
    ),
    PlacementType.U4: "Foster placement with other foster carer(s): long-term fostering",
    PlacementType.U5: (
        "Foster placement with other foster carer(s) who are approved adopters: "
        "fostering for adoption or concurrent planning"
    ),
    PlacementType.U6: (
        "Foster placement with other foster carer(s): "
        "neither long-term nor fostering for adoption or concurrent planning"
    ),
    PlacementType.Z1: "Other placement (listed on a schedule sent to the DfE)",
}


class LivingSituation(StrEnum):
    AT_HOME = "at_home"
    IN_CARE = "in_care"
    CUSTODY = "custody"
    OTHER = "other"


class ClosureReason(StrEnum):
    COMPLETED = "completed"
    DISENGAGED = "disengaged"
    ESCALATED_TO_CARE = "escalated_to_care"
    MOVED_AWAY = "moved_away"
    SUPERSEDED = "superseded"


class FeedSource(StrEnum):
    POLICE = "police"
    HEALTH = "health"
    EDUCATION = "education"
    YOUTH_JUSTICE = "youth_justice"
