# Cryo: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test bench venv lint

run:
	bash deploy/run.sh

test:
	bash deploy/test.sh

bench:
	bash deploy/bench.sh

venv:
	bash deploy/python-env.sh
