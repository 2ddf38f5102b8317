"""How good features are: metrics, `FeatureExtractorEvaluator` and its reports, and videos compared by their features."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "metrics": ["FeatureExtractorEvaluator", "knn_loo_accuracy", "report_metrics", "compare_reports"],
    "reports": ["evaluate_folder", "find_reports", "StoredReport", "same_classes"],
    "compare": ["project", "similar_windows"],
})
