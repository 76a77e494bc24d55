"""pm_db: the embedded pipeline database of pm.

Importing this package is cheap on purpose (Houdini imports it at start-up): SQLAlchemy,
alembic, pydantic and pxr are imported by the modules that use them, when first used.
"""

__version__ = "0.1.0"
