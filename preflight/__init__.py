"""The offline preview: run the Pulumi program without a cloud, evaluate the policies, render reports."""
