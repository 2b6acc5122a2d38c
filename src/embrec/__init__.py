"""embrec: collaborative filtering with learned embeddings, end to end.

The package is organised along the data flow: ``data`` (ratings, ids, splits) ->
``models`` (pure ``nn.Module``s) -> ``training`` (the one loop) -> ``recommend``
(id-aware use of a trained model) -> ``evaluation`` -> ``artifacts`` (model
directories) -> ``cli``. Importing the package does nothing but define names.
"""

__version__ = "0.1.0"
