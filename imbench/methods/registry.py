"""The one registry of methods: name -> what it is, its interface and its paper.

Default hyperparameters live in ``conf/method/<name>.yaml`` (built with ``_target_``); a test checks
that this registry and that folder agree. Methods that later work will add are listed in
``PLANNED`` so that paper tables can show their rows as empty, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodInfo:
    name: str
    kind: str  # "sampler" (fit_resample) or "end_to_end" (fit/predict_proba)
    label: str  # how paper tables name it
    reference: str


METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in [
        MethodInfo("none", "sampler", "Imbalanced", "no oversampling (Fajardo 'Imbalanced', GAMO 'Baseline CN', EGL 'CE')"),
        MethodInfo("random", "sampler", "RANDOM", "imblearn RandomOverSampler"),
        MethodInfo("smote", "sampler", "SMOTE", "Chawla et al. 2002, JAIR 16; imblearn SMOTE"),
        MethodInfo("adasyn", "sampler", "ADASYN", "He et al. 2008, IJCNN; imblearn ADASYN"),
        MethodInfo("borderline_smote", "sampler", "BSMOTE", "Han et al. 2005, ICIC; imblearn BorderlineSMOTE"),
    ]
}

# Methods of the four papers that are not implemented yet, with the paper that defines them.
PLANNED: dict[str, str] = {
    "cgan": "Fajardo et al. 2021", "acgan": "Fajardo et al. 2021", "bagan": "Fajardo et al. 2021",
    "cvae": "Fajardo et al. 2021", "r_cgan": "Fajardo et al. 2021", "r_acgan": "Fajardo et al. 2021",
    "r_cvae": "Fajardo et al. 2021", "gamo": "Mullick et al. 2019", "gamo_d": "Mullick et al. 2019",
    "cgan_cn": "Mullick et al. 2019", "cg_cn": "Mullick et al. 2019", "cg_d_cn": "Mullick et al. 2019",
    "augment": "Mullick et al. 2019", "dos": "Ando & Huang 2017", "imsic": "He et al. 2021",
    "infogan": "He et al. 2021", "dgc": "Wang et al. 2020", "egl": "Yasinnik et al.",
    "rs": "Yasinnik et al. (class-balanced batches)", "focal": "Lin et al. 2017", "ldam": "Cao et al. 2019",
    "cwgan": "Engelmann & Lessmann 2021", "mesa": "Liu et al. 2020", "potential": "Yasinnik et al.",
    "tuned_smote": "Fajardo et al. 2021",
}


def method_label(name: str) -> str:
    """Display label for tables; planned methods show their upper-cased name."""
    return METHODS[name].label if name in METHODS else name.upper().replace("_", "-")
