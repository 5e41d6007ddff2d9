"""The feature store (Feast): point-in-time demand features for training and serving.

definitions: the entities and feature views, over gold ``zone_demand`` (Spark offline store);
store: the store built from settings (registry, online store: SQLite embedded, Redis in the
stack), apply, materialize, historical and online retrieval. Feast is imported only here.
"""
