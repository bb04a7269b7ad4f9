"""The zkoracle node: feed definitions, inputs, circuits, provers, deployments, the store, the read API and the CLI."""
