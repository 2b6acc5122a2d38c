"""Serving: an HTTP service and web page over a model registry and a ratings store.

``embrec.serving.app.create_app`` builds the FastAPI app; ``ratings_store``, ``model_registry`` and
``rollout`` are usable on their own (the ``embrec retrain`` and ``embrec rollout`` commands do).
"""
