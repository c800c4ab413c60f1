import asyncio

SLOW = 0.03


async def step(name):
    await asyncio.sleep(SLOW)
    return name


async def fan_out():
    # Two tasks copy this context: each must parent its spans under fan_out, and neither
    # may see the other's frames.
    return await asyncio.gather(step("a"), step("b"))


async def ticks(n):
    for i in range(n):
        await asyncio.sleep(SLOW if i == 0 else 0)
        yield i


async def drain_ticks():
    return [i async for i in ticks(2)]


def run():
    return asyncio.run(main())


async def main():
    return [await fan_out(), await drain_ticks()]
