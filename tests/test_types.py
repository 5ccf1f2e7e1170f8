"""The models' types tell the truth: ``mypy --strict`` accepts user code that reads the
fields the schema requires without checking them for ``None``, and still rejects code that
forgets a nullable field can be ``None``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

USER_PROGRAM = """
from __future__ import annotations

from datetime import datetime

from polar_links import (
    BenefitMeterCredit,
    CheckoutLink,
    DiscountFixed,
    DiscountPercentage,
    Polar,
    ProductPriceCustom,
    ProductPriceFixed,
    ProductPriceMeteredUnit,
    ProductPriceSeatBased,
    UnknownBenefit,
)


def describe(link: CheckoutLink) -> str:
    created: datetime = link.created_at
    parts = [link.id, created.isoformat(), link.url.upper(), link.client_secret[:4]]
    parts += [link.organization_id, link.payment_processor, str(len(link.metadata))]
    if link.allow_discount_codes and not link.require_billing_address:
        parts.append("codes")
    for product in link.products:
        parts += [product.name.title(), product.visibility, product.created_at.isoformat()]
        parts.append(product.organization_id + str(product.is_recurring or product.is_archived))
        for price in product.prices:
            parts.append(price.amount_type.upper())
            if isinstance(price, ProductPriceFixed):
                cents: int = price.price_amount + 1
                parts += [price.created_at.isoformat(), price.price_currency.upper(), str(cents)]
            elif isinstance(price, ProductPriceCustom):
                parts.append(str(price.minimum_amount // 100))
            elif isinstance(price, ProductPriceSeatBased):
                parts.append(str(price.seat_tiers.tiers[0].price_per_seat * 2))
            elif isinstance(price, ProductPriceMeteredUnit):
                parts += [price.meter.name.upper(), price.unit_amount, price.meter_id]
        for benefit in product.benefits:
            parts.append(benefit.type)
            if isinstance(benefit, UnknownBenefit):
                parts.append(str(benefit.data))
            else:
                parts += [benefit.description.strip(), benefit.created_at.isoformat()]
                if isinstance(benefit, BenefitMeterCredit) and benefit.properties:
                    parts.append(str(benefit.properties))
        for media in product.medias:
            parts += [media.public_url.lower(), str(media.size + 1), media.mime_type]
    if isinstance(link.discount, DiscountFixed):
        parts += [str(link.discount.amounts["usd"] + link.discount.amount), link.discount.name]
    elif isinstance(link.discount, DiscountPercentage):
        parts.append(str(link.discount.basis_points / 100) + link.discount.created_at.isoformat())
    label = link.label or "(no label)"
    return " ".join([label, *parts])


async def main() -> None:
    async with Polar("polar_oat_example") as polar:
        async for link in polar.checkout_links.list():
            print(describe(link))
        one = await polar.checkout_links.get("9c3f1c52-2a55-4c1f-8d4e-6f3a2b1c0d9e")
        print(one.created_at.isoformat(), one.url)
"""

FORGETS_NONE = """
from polar_links import CheckoutLink


def shout(link: CheckoutLink) -> str:
    return link.label.upper() + str(link.seats + 1)
"""


def mypy_strict(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "user_program.py"
    program.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


def test_strict_user_code_reads_required_fields_without_none_checks(tmp_path: Path) -> None:
    result = mypy_strict(tmp_path, USER_PROGRAM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout


def test_nullable_fields_are_still_typed_as_optional(tmp_path: Path) -> None:
    result = mypy_strict(tmp_path, FORGETS_NONE)
    assert result.returncode == 1
    assert 'Item "None" of "str | None" has no attribute "upper"' in result.stdout
    assert 'Unsupported operand types for + ("None" and "int")' in result.stdout
