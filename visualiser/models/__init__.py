"""The networks: attention layers, the ResNet families, weights, and the registry of named models.

Importing this package registers the built-in catalogues (published networks in ``zoo``, the shipped
small models in ``embedded``) into ``registry``; neither needs torch, so the app's model lists are ready
before torch is imported.
"""

from visualiser.models import embedded, zoo  # noqa: F401  (they register their entries)
