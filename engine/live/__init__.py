"""The live twin (issue 20): ``metrotwin live`` follows a sensor feed over MQTT, journals every
accepted reading before acknowledging it, assimilates at each cycle what arrived, and
publishes a nowcast and a forecast; ``metrotwin replay`` publishes a recorded feed.

Only this package imports the MQTT client. It sits above ``metrotwin.run`` (it drives the
assimilating coupler) and below ``metrotwin.cli``.
"""
