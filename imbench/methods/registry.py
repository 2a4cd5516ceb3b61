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
        MethodInfo("tuned_smote", "sampler", "Tuned SMOTE",
                   "Fajardo et al. 2021 Table 9: SMOTE, k in 3..7 by 5-fold CV of the Table 14 MLP"),
        MethodInfo("borderline_smote", "sampler", "BSMOTE", "Han et al. 2005, ICIC; imblearn BorderlineSMOTE"),
        MethodInfo("smote_torch", "sampler", "SMOTE (torch)", "Chawla et al. 2002, JAIR 16; imbench TorchSMOTE (GPU)"),
        MethodInfo("random_torch", "sampler", "RANDOM (torch)", "random oversampling; imbench TorchRandomOverSampler (GPU)"),
        MethodInfo("bagan", "sampler", "BAGAN", "Mariani et al. 2018, 'BAGAN: Data augmentation with balancing GAN', "
                   "arXiv:1803.09655 (IBM/BAGAN code), as used by Fajardo et al. 2021"),
        MethodInfo("cgan", "sampler", "CGAN",
                   "Mirza & Osindero 2014, arXiv:1411.1784; as in Fajardo et al. 2021, ESWA 169:114463 (Table 11)"),
        MethodInfo("acgan", "sampler", "ACGAN",
                   "Odena et al. 2017, ICML; as in Fajardo et al. 2021, ESWA 169:114463 (Table 10)"),
        MethodInfo("cvae", "sampler", "CVAE",
                   "Fajardo et al. 2021, ESWA 169:114463 (Table 13); conditional VAE after Sohn et al. 2015, NeurIPS"),
        MethodInfo("r_cgan", "sampler", "R-CGAN",
                   "Fajardo et al. 2021, ESWA 169:114463: random oversampling, then CGAN (Mirza & Osindero 2014)"),
        MethodInfo("r_acgan", "sampler", "R-ACGAN",
                   "Fajardo et al. 2021, ESWA 169:114463: random oversampling, then ACGAN (Odena et al. 2017)"),
        MethodInfo("r_cvae", "sampler", "R-CVAE",
                   "Fajardo et al. 2021, ESWA 169:114463: random oversampling, then CVAE (after Sohn et al. 2015)"),
    ]
}

# Methods of the four papers that are not implemented yet, with the paper that defines them.
PLANNED: dict[str, str] = {
    "gamo": "Mullick et al. 2019", "gamo_d": "Mullick et al. 2019",
    "cgan_cn": "Mullick et al. 2019", "cg_cn": "Mullick et al. 2019", "cg_d_cn": "Mullick et al. 2019",
    "augment": "Mullick et al. 2019", "dos": "Ando & Huang 2017", "imsic": "He et al. 2021",
    "infogan": "He et al. 2021", "dgc": "Wang et al. 2020", "egl": "Yasinnik et al.",
    "rs": "Yasinnik et al. (class-balanced batches)", "focal": "Lin et al. 2017", "ldam": "Cao et al. 2019",
    "cwgan": "Engelmann & Lessmann 2021", "mesa": "Liu et al. 2020", "potential": "Yasinnik et al.",
}


def method_label(name: str) -> str:
    """Display label for tables; planned methods show their upper-cased name."""
    return METHODS[name].label if name in METHODS else name.upper().replace("_", "-")
