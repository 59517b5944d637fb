"""The model zoo: one module per family, and :mod:`painzoo.models.zoo`, the table the registry reads.

Importing this package imports no model module (and so no Keras):
:func:`painzoo.get_model` imports a family's module when it builds one of its models.
"""

__all__: list[str] = []
