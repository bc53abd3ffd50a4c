"""The report pipeline: collect_data -> generate_content -> assemble_document -> publish.

Each stage is a plain function taking a report id (``reports.pipeline.stages``),
run by a thin Celery task (``reports.tasks``) or inline by the
``generate_report`` command. ``reports.pipeline.chain`` builds the Celery chain.
"""
