"""The room report pipeline: collect_data -> generate_content -> assemble_document -> publish.

Read ``workflow.py`` first: it lists every stage in order and runs them on
Celery (or inline for the ``generate_report`` command). Each stage is a plain
function of a report id in ``stages.py``; ``state.py`` holds the stage table and
the claims, steps and progress they share; ``collect``, ``content``,
``assemble`` and ``docx_builder`` do the work of their stage.
"""
