"""Reading a trained model: biases, maps of the embedding space, neighbours, explanations."""
