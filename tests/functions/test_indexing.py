"""The Functions app indexed offline, as the host indexes it (Python v2 programming model).

The worker imports function_app.py and asks the `FunctionApp` for its functions and their raw
binding JSON (azure-functions `decorators/function_app.py`: `get_functions`, `Function
.get_raw_bindings`); the host registers exactly those. No host, no Azure.
"""

from __future__ import annotations

import json
from pathlib import Path

from catalog import hosted

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_has_exactly_three_functions_with_these_bindings(indexed):
    # `%ROTATION_QUEUE_NAME%`: an app-setting binding expression, resolved by the host from the
    # setting the handlers send to (learn.microsoft.com/azure/azure-functions/
    # functions-bindings-expressions-patterns, "Binding expressions - app settings").
    queue = {"queueName": "%ROTATION_QUEUE_NAME%", "connection": "AzureWebJobsStorage"}
    # No queue output binding: the host would write it only after the function returned, too
    # late for the handler to see a failed write (the handlers send through a QueueClient).
    assert indexed == {
        "on_secret_near_expiry": [
            {"direction": "IN", "type": "eventGridTrigger", "name": "event"},
        ],
        "run_rotation": [
            {"direction": "IN", "type": "queueTrigger", "name": "message", **queue},
        ],
        "daily_check": [
            {
                "direction": "IN",
                "type": "timerTrigger",
                "name": "timer",
                "schedule": "0 17 3 * * *",
                "runOnStartup": False,
            },
        ],
    }


def test_names_and_the_connection_are_the_ones_the_stack_configures(indexed):
    functions = indexed
    # The Event Grid subscription's destination is <site>/functions/<EVENT_FUNCTION>.
    assert set(functions) == {hosted.EVENT_FUNCTION, hosted.QUEUE_FUNCTION, hosted.TIMER_FUNCTION}
    connections = {
        binding["connection"]
        for bindings in functions.values()
        for binding in bindings
        if "connection" in binding
    }
    # One identity-based connection: its settings are <prefix>__accountName/__credential/
    # __clientId (tests/components/test_rotation_automation.py checks the app carries them).
    assert connections == {hosted.STORAGE_CONNECTION}


def test_the_schedule_is_daily_ncrontab_in_utc():
    # NCRONTAB: second minute hour day month weekday; one field per unit, fixed time of day.
    second, minute, hour, day, month, weekday = hosted.DAILY_SCHEDULE.split()
    assert (day, month, weekday) == ("*", "*", "*")
    assert all(part.isdigit() for part in (second, minute, hour))


def test_host_json_takes_one_message_at_a_time_and_parks_poison_after_five_tries():
    host = json.loads((ROOT / "functions" / "host.json").read_text(encoding="utf-8"))
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensions"]["queues"] == {
        "batchSize": 1,
        "newBatchThreshold": 0,
        "maxDequeueCount": 5,
        "visibilityTimeout": "00:01:00",
    }
    # Flex Consumption's default limit is 30 minutes; a rotation with confirmations fits.
    assert host["functionTimeout"] == "00:30:00"
