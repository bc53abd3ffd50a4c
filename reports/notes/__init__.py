"""Ticket notes: written right after resolve, streamed to the room token by token.

``prompt`` says what the writer is asked and reads the next steps back,
``writer`` writes them offline from the room data, ``streamer`` sends the
pieces to the room, and ``service`` starts a version and writes it (the task).
"""
