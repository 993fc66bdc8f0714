# The EMBEDDED mode in one container (docker-compose.embedded.yaml): Airflow standalone on
# SQLite + receiver + forwarder, exactly what `make run` starts. The production shape is the
# Dockerfile at the repository root (docker-compose.yaml).
FROM python:3.11-slim
WORKDIR /opt/sintegre
# The embedded stack is `make run`: the simulator and the demo come with it, so it installs the
# development set (requirements-dev.txt = runtime pins + dev tools), unlike the production image.
COPY requirements.txt requirements-dev.txt ./
RUN pip install --no-cache-dir -r requirements-dev.txt
COPY include/ include/
COPY tools/ tools/
COPY dags/ dags/
COPY plugins/ plugins/
ENV PYTHONPATH=/opt/sintegre/include:/opt/sintegre/tools \
    SINTEGRE_PROJECT_ROOT=/opt/sintegre \
    SINTEGRE_STATE_DIR=/var/lib/sintegre/state \
    LAKE_URI=/var/lib/sintegre/lake \
    RECEIVER_HOST=0.0.0.0
EXPOSE 8000 8080
CMD ["python", "-m", "sintegre_dev.devstack"]
