"""Stateless evaluation metrics for link prediction."""

from pyg_signeq.metrics.link_prediction import (
    average_precision,
    hits_at_k,
    link_metrics,
    mrr,
    roc_auc,
)

__all__ = [
    "average_precision",
    "hits_at_k",
    "link_metrics",
    "mrr",
    "roc_auc",
]
