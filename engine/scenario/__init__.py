"""The scenario stage: what a user writes, and the messages that answer a mistake in it.

``scenario`` (the pydantic schema of a scenario file: ``Scenario``, its sections, the YAML
reader ``read_yaml``, ``validate_scenario``/``validate_file`` and the built-in demo's path),
``data`` (the schema of the ``domain.data`` section: the data files a city is built from),
``landcover`` (the land-cover class names a scenario may use, and their codes), ``schema``
(``StrictModel``, the base of every schema: unknown keys and NaN refused; safe names),
``files`` (paths in a scenario: ``${METROTWIN_REFDATA}``, relative to the file, checked),
``yamlsafe`` (the YAML loader that refuses duplicate keys and alias bombs), ``units``
(durations and times), ``validation`` (pydantic's errors as one message naming each field) and
``messages`` (bounded quoting of user values in error messages).

This is the lowest stage: it imports no other stage. The sections whose types come from later
stages (each model's ``Params``, the registered intervention types) are checked for shape
here and validated by ``metrotwin.run.scenario``, whose ``Scenario``, ``load_scenario`` and
``parse_scenario`` are the public ones (``metrotwin.load_scenario``).
"""
