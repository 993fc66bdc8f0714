# The production image (docker-compose.yaml): Airflow 3.3.2 on Python 3.11, extended with the
# project's pinned requirements and its code. Every service of the compose file runs it: the
# Airflow components (the official image's entrypoint), the receiver and the forwarder.
# The embedded single-container mode has its own: docker/embedded.Dockerfile.
FROM apache/airflow:3.3.2-python3.11

# The official way to extend the image: pip as the airflow user, apache-airflow pinned to the
# base image's version so no requirement can move it. requirements.txt is the RUNTIME set only
# (pytest, ruff, moto... are in requirements-dev.txt, never in this image).
USER airflow
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /opt/airflow/requirements.txt

# The domain package (no Airflow imports), the DAGs, the Airflow-side plugins, and the
# compose file's init and health-check scripts.
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 docker/ /opt/airflow/docker/

ENV PYTHONPATH=/opt/airflow/include \
    SINTEGRE_PROJECT_ROOT=/opt/airflow \
    SINTEGRE_STATE_DIR=/opt/airflow/state \
    RECEIVER_HOST=0.0.0.0
EXPOSE 8000 8080
# Every service runs as the non-root airflow user (UID 50000, GID 0); compose's airflow-init
# alone runs as root, to hand the shared volumes over.
USER airflow
