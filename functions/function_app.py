"""The hosted rotation as an Azure Functions app (Python v2 programming model).

Three functions, each a thin wrapper over rotation/hosted.py:

- `on_secret_near_expiry` (Event Grid trigger): Key Vault's `SecretNearExpiry` for the one
  secret. Answers within seconds: checks the event against the configured vault and secret and
  the latest version, acknowledges a redelivery or a duplicate, and queues one run. Event Grid
  waits about 30 s for an answer before it delivers again, so nothing long runs here.
- `run_rotation` (queue trigger): the long phase (probe, publish, confirm, drain, regenerate)
  under the secret's blob lease; resumable, so a crash or a timeout leaves the message for the
  runtime to deliver again, and the run picks up where the secret's tags say it stopped.
- `daily_check` (timer): re-checks expiry and any operation under way, for events missed and
  versions created before the subscription existed; queues a run when one is due.

The settings are the app settings named in catalog/hosted.py. The queue trigger reaches
storage through the `AzureWebJobsStorage` connection, which is identity-based (`__accountName`,
`__credential`, `__clientId`): no key or connection string anywhere. The event handler and the
timer send their message with the same identity through a `QueueClient`, not a queue output
binding: the host writes an output binding only after the function returns, so a failed write
could not be seen by the handler (rotation/hosted.py says why that would lose a run).
An exception fails the invocation on purpose: Event Grid then retries and finally dead-letters
the event; the queue retries the message and finally moves it to `rotation-runs-poison`.
"""

from __future__ import annotations

import os

import azure.functions as func

from catalog import hosted as contract
from rotation import hosted

app = func.FunctionApp()


@app.function_name(contract.EVENT_FUNCTION)
@app.event_grid_trigger(arg_name="event")
def on_secret_near_expiry(event: func.EventGridEvent) -> None:
    settings = hosted.settings_from_environment(os.environ)
    hosted.accept_event(event, settings)


# The queue the handlers send to (app setting ROTATION_QUEUE_NAME, which the stack writes), as
# an app-setting binding expression, so that the trigger and the senders never disagree.
@app.function_name(contract.QUEUE_FUNCTION)
@app.queue_trigger(
    arg_name="message",
    queue_name=f"%{contract.QUEUE_NAME_SETTING}%",
    connection=contract.STORAGE_CONNECTION,
)
def run_rotation(message: func.QueueMessage) -> None:
    settings = hosted.settings_from_environment(os.environ)
    hosted.run_queued(message.get_body(), settings)


@app.function_name(contract.TIMER_FUNCTION)
@app.timer_trigger(arg_name="timer", schedule=contract.DAILY_SCHEDULE, run_on_startup=False)
def daily_check(timer: func.TimerRequest) -> None:
    settings = hosted.settings_from_environment(os.environ)
    hosted.check_due(settings)
