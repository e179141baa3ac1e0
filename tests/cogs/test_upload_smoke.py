from tests.fakes import payloads
from tests.harness import Harness


async def test_smoke(harness: Harness) -> None:
    async with harness.running():
        p = await harness.interact(payloads.upload(file=payloads.attachment()))
        cb = await harness.callback_of(p)
        print(cb.json)
        print(await harness.answer(p))
