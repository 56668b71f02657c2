"""Makes tests/fixtures/rewards/math_pairs.inc: gold/prediction pairs of math answers (MATH and
GSM8K style) with the verdict of Hugging Face's Math-Verify, the reference the math rule follows.

    pip install math-verify[antlr4_13_2]==0.9.0
    python tests/rewards/make_math_fixture.py

Each line is MATH_PAIR(number, topic, gold, prediction, Math-Verify's verdict, aha's verdict), a C++
macro call that tests/rewards/math_pairs_test.cpp turns into one test case; aha's verdict differs
only for the pairs in DEVIATIONS below, each with the reason.
"""
import json
import pathlib

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

PAIRS = [
    # integers, signs, GSM8K answers
    ("18", "18", "integer"), ("18", "19", "integer"), ("72", "72.0", "integer"), ("-5", "-5", "integer"),
    ("-5", "5", "integer"), ("0", "0", "integer"), ("1000000", "1000001", "integer"), ("3", "03", "integer"),
    # thousands separators
    ("1,000", "1000", "separator"), ("1000", "1,000", "separator"), ("12,345,678", "12345678", "separator"),
    ("1{,}000", "1000", "separator"), ("2,000", "2001", "separator"),
    # decimals
    ("0.5", "\\frac{1}{2}", "decimal"), ("\\frac{1}{3}", "0.333333", "decimal"), ("\\frac{1}{3}", "0.33", "decimal"),
    ("2.50", "2.5", "decimal"), ("3.14", "3.15", "decimal"), ("0.1", ".1", "decimal"), ("1.5", "\\frac{3}{2}", "decimal"),
    ("7.0", "7", "decimal"),
    # fractions and LaTeX variants
    ("\\frac{1}{2}", "\\dfrac{1}{2}", "latex"), ("\\frac{1}{2}", "\\tfrac12", "latex"), ("\\frac{1}{2}", "1/2", "latex"),
    ("\\frac{2}{4}", "\\frac{1}{2}", "fraction"), ("\\frac{3}{4}", "\\frac{4}{3}", "fraction"),
    ("\\frac{14}{3}", "4\\frac{2}{3}", "mixed"), ("-\\frac{1}{2}", "\\frac{-1}{2}", "fraction"),
    ("\\frac{1}{2}", "\\left(\\frac{1}{2}\\right)", "latex"), ("5", "\\boxed{5}", "latex"), ("10", "10^\\circ", "latex"),
    ("90^\\circ", "90", "latex"), ("\\$18", "18", "latex"), ("18", "\\$18.00", "latex"), ("12", "12\\text{ cm}", "units"),
    ("5", "5 \\text{ dollars}", "units"), ("\\text{(A)}", "\\text{(A)}", "latex"), ("\\text{(B)}", "\\text{(C)}", "latex"),
    ("2\\!000", "2000", "latex"),
    # percentages
    ("50\\%", "50", "percent"), ("50\\%", "0.5", "percent"), ("50\\%", "\\frac{1}{2}", "percent"), ("25\\%", "25\\%", "percent"),
    ("25\\%", "30\\%", "percent"), ("12.5\\%", "12.5", "percent"),
    # arithmetic expressions
    ("6", "2 \\cdot 3", "expression"), ("6", "2 \\times 3", "expression"), ("8", "2^3", "expression"), ("9", "2^3", "expression"),
    ("\\frac{7}{2}", "3 + \\frac{1}{2}", "expression"), ("4", "\\sqrt{16}", "expression"), ("\\sqrt{2}", "\\sqrt{2}", "expression"),
    ("\\sqrt{2}", "\\sqrt{3}", "expression"), ("2\\sqrt{3}", "2\\sqrt{3}", "expression"), ("120", "5!", "expression"),
    ("\\pi", "\\pi", "expression"), ("2\\pi", "3\\pi", "expression"), ("10", "\\binom{5}{2}", "expression"),
    # known false positives of float comparison
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}", "false-positive"), ("\\frac{1}{2^{100}}", "\\frac{1}{2^{101}}", "false-positive"),
    ("10^{-9}", "10^{-10}", "false-positive"), ("1000000.1", "1000000.2", "false-positive"),
    # tuples
    ("(1, 2)", "(1,2)", "tuple"), ("(1, 2)", "(2, 1)", "tuple"), ("(3, -4)", "\\left(3, -4\\right)", "tuple"),
    ("(1, 2, 3)", "(1, 2)", "tuple"), ("(\\frac{1}{2}, 3)", "(0.5, 3)", "tuple"),
    # intervals (bracket kinds matter)
    ("[1, 2]", "[1,2]", "interval"), ("[1, 2]", "(1, 2)", "interval"), ("(1, 2]", "(1, 2]", "interval"),
    ("(1, 2]", "[1, 2)", "interval"), ("(-\\infty, 3)", "(-\\infty,3)", "interval"), ("[0, \\infty)", "[0,\\infty)", "interval"),
    ("(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty,0)\\cup(1,\\infty)", "interval"),
    ("(-\\infty, 0) \\cup (1, \\infty)", "(1,\\infty)\\cup(-\\infty,0)", "interval"),
    # sets
    ("\\{1, 2\\}", "\\{2, 1\\}", "set"), ("\\{1, 2\\}", "\\{1, 3\\}", "set"), ("1, 2", "2, 1", "set"), ("1, 2, 3", "1, 2", "set"),
    # equations and relations, and the gold/prediction asymmetry
    ("x = 3", "3", "equation"), ("3", "x = 3", "equation"), ("3", "x = 4", "equation"), ("y = 2x + 1", "y = 2x + 1", "equation"),
    ("y = 2x + 1", "y = 2x + 2", "equation"), ("1 < x < 2", "(1, 2)", "asymmetry"), ("(1, 2)", "1 < x < 2", "asymmetry"),
    ("x \\geq 3", "[3, \\infty)", "asymmetry"), ("x > 3", "[3, \\infty)", "asymmetry"), ("x \\leq -1", "(-\\infty, -1]", "asymmetry"),
    # text answers
    ("\\text{Monday}", "Monday", "text"), ("\\text{Monday}", "Tuesday", "text"), ("\\text{even}", "\\text{even}", "text"),
]

# Where aha's verdict is knowingly not Math-Verify's, and why.
DEVIATIONS = {
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"): (
        False, "Math-Verify compares the two as floats, both 0 at 15 digits; aha refuses 2004! and compares text"),
    ("\\frac{1}{2^{100}}", "\\frac{1}{2^{101}}"): (
        False, "Math-Verify's float comparison calls two different tiny numbers equal; aha compares them exactly"),
}


def verdict(gold: str, prediction: str) -> bool:
    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    return bool(verify(parse(f"${gold}$", config), parse(f"${prediction}$", config)))


def main() -> None:
    out = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "rewards" / "math_pairs.inc"
    with out.open("w") as f:
        f.write("// Generated by tests/rewards/make_math_fixture.py from Math-Verify's verdicts; do not edit.\n")
        for number, (gold, prediction, topic) in enumerate(PAIRS):
            reference = verdict(gold, prediction)
            ours = reference
            if (gold, prediction) in DEVIATIONS:
                ours, why = DEVIATIONS[(gold, prediction)]
                f.write(f"// aha differs: {why}\n")
            f.write(f"MATH_PAIR({number:03d}, {json.dumps(topic)}, {json.dumps(gold)}, {json.dumps(prediction)}, "
                    f"{str(reference).lower()}, {str(ours).lower()})\n")
    print(f"{len(PAIRS)} pairs -> {out}")


if __name__ == "__main__":
    main()
