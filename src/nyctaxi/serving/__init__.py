"""The model over HTTP (FastAPI): the registry's champion, loaded without Spark or a JVM."""
