"""The offline preview: run the program without a cloud, evaluate the policies, render reports."""
