"""The SageMaker serving container: the ONNX toxicity model behind /ping and /invocations."""
