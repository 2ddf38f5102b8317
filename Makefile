# Shortcuts for the README's commands (the scripts work without make).
.PHONY: demo test bench
demo:
	scripts/demo.sh
test:
	scripts/test.sh
bench:
	scripts/setup.sh && .venv/bin/python -m benchmarks.flow_speed && \
	  .venv/bin/python -m benchmarks.flow_memory && .venv/bin/python -m benchmarks.middlebury_epe
