# The project's code and pinned dependencies in one image (embedded mode for now).
FROM python:3.11-slim
WORKDIR /opt/sintegre
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY include/ include/
COPY dags/ dags/
COPY plugins/ plugins/
ENV PYTHONPATH=/opt/sintegre/include \
    SINTEGRE_PROJECT_ROOT=/opt/sintegre \
    SINTEGRE_STATE_DIR=/var/lib/sintegre/state \
    LAKE_URI=/var/lib/sintegre/lake \
    RECEIVER_HOST=0.0.0.0
EXPOSE 8000 8080
CMD ["python", "-m", "sintegre.devstack"]
