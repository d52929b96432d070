"""`deploy_probe_job`: proves where a deployment runs steps, and that outputs reach the next step.

LEVELS dependency levels of WIDTH steps each; every step reads all outputs of the level before it
through `step_io_manager` (the database), so it also proves the IO manager across processes. Each
step records its process id, host and Celery worker (when it ran in one) as output metadata. Launch
it after a deploy or a worker change; `benchmarks/bench_07_executors.py` times it per executor.
"""

import os
import socket
import sys

import dagster as dg

LEVELS = 4
WIDTH = 2
STEP_IO_MANAGER = "step_io_manager"


def where_am_i() -> dict:
    """This process: pid, host, and the Celery worker node running the current task (None outside one)."""
    celery = sys.modules.get("celery")  # never import celery here: only a worker has it loaded
    task = celery.current_task if celery else None  # a proxy: falsy outside a task
    worker = getattr(task.request, "hostname", None) if task else None
    return {"pid": os.getpid(), "host": socket.gethostname(), "celery_worker": worker}


def _probe_op(level: int, index: int) -> dg.OpDefinition:
    ins = {"upstream": dg.In(list)} if level else {}

    @dg.op(
        name=f"probe_level{level}_{index}",
        ins=ins,
        out=dg.Out(dict, io_manager_key=STEP_IO_MANAGER),
        description=f"Level {level} of the probe chain: records where it ran; sums the hops before it.",
    )
    def _op(context: dg.OpExecutionContext, **inputs) -> dict:
        upstream = inputs.get("upstream", [])
        here = where_am_i()
        hops = 1 + max((item["hops"] for item in upstream), default=0)
        context.add_output_metadata({**{k: v for k, v in here.items() if v is not None}, "hops": hops})
        return {**here, "level": level, "index": index, "hops": hops}

    return _op


_LEVEL_OPS = [[_probe_op(level, index) for index in range(WIDTH)] for level in range(LEVELS)]


@dg.graph(description="LEVELS x WIDTH steps; each level fans in every output of the level before it.")
def deploy_probe():
    outputs = [op() for op in _LEVEL_OPS[0]]
    for level_ops in _LEVEL_OPS[1:]:
        outputs = [op(upstream=outputs) for op in level_ops]


deploy_probe_job = deploy_probe.to_job(
    name="deploy_probe_job",
    description=(
        f"Deployment probe: {LEVELS} dependency levels x {WIDTH} trivial steps that record their pid, host and "
        "Celery worker. Proves which executor runs steps and that outputs cross processes (step_io_manager)."
    ),
    tags={"dagster/max_runtime": 600},
)
