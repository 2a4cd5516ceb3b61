"""GAMO (Mullick et al. 2019): the method (:class:`Gamo`), its networks, objectives and trainer."""
from imbench.methods.gamo.method import Gamo, GamoPredictor

__all__ = ["Gamo", "GamoPredictor"]
