"""The baseline: a Flask app that answers 200 JSON without reading or storing anything."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.post("/sintegre/<integration>")
def accept(integration: str):
    return jsonify({"id": "0", "status": "received"}), 200
