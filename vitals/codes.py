"""Standard codes for Chairside's parameters, shared by every exchange format.

LOINC codes as the FHIR vital-signs profile uses them; ISO/IEEE 11073-10101 (MDC) codes as
IHE PCD-01 HL7 messages carry them; UCUM units.
"""

from __future__ import annotations

from vitals.reading import Param

LOINC: dict[Param, tuple[str, str]] = {
    Param.HR: ("8867-4", "Heart rate"),
    Param.PULSE: ("8889-8", "Heart rate by Pulse oximetry"),
    Param.SBP: ("8480-6", "Systolic blood pressure"),
    Param.DBP: ("8462-4", "Diastolic blood pressure"),
    Param.MAP: ("8478-0", "Mean blood pressure"),
    Param.SPO2: ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")

MDC: dict[Param, tuple[str, str]] = {
    Param.HR: ("147842", "MDC_ECG_HEART_RATE"),
    Param.PULSE: ("149530", "MDC_PULS_OXIM_PULS_RATE"),
    Param.SPO2: ("150456", "MDC_PULS_OXIM_SAT_O2"),
    Param.SBP: ("150021", "MDC_PRESS_BLD_NONINV_SYS"),
    Param.DBP: ("150022", "MDC_PRESS_BLD_NONINV_DIA"),
    Param.MAP: ("150023", "MDC_PRESS_BLD_NONINV_MEAN"),
}

UCUM: dict[Param, str] = {
    Param.HR: "/min",
    Param.PULSE: "/min",
    Param.SBP: "mm[Hg]",
    Param.DBP: "mm[Hg]",
    Param.MAP: "mm[Hg]",
    Param.SPO2: "%",
}
