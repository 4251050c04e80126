"""Understanding a question, on its own: a table of questions, no index built.

Each row is a question as owners and help desks write it, and what must be understood of it.
"""

import pytest

from bot.core.intent import ProgramNames, is_yes_no, language_of, understand
from bot.terms import get_term_map
from bot.tokenize import get_tokenizer

NAMES = ProgramNames(
    [
        ("BCP実践促進助成金", ()),
        ("サイバーセキュリティ対策促進助成金", ()),
        ("展示会出展助成事業・展示会出展助成プラス", ()),
        ("カスタマーハラスメント防止対策", ("カスハラ",)),
        ("中小企業デジタルツール導入促進支援事業", ()),
        ("事業承継・引継ぎ支援センター", ()),
    ]
)

# (question, language, asks, programs named, yes/no)
TABLE = [
    ("BCPの助成金の上限っていくら？", "ja", "upper_limit", [], False),
    ("BCP実践促進助成金の助成率は？", "ja", "rate", ["BCP実践促進助成金"], False),
    ("セキュリティ対策の機器を入れる費用は、どのくらいの割合で助成されますか", "ja", "rate", [], False),
    ("ＢＣＰ実践促進助成金の下限額は", "ja", "lower_limit", ["BCP実践促進助成金"], False),
    ("カスハラの相談窓口の電話番号は？", "ja", "contact", ["カスタマーハラスメント防止対策"], False),
    ("M&Aで第三者に会社を譲りたい。どこに相談すれば", "ja", "contact", [], False),
    ("展示会出展助成プラスの締め切りはいつですか", "ja", "application_period", ["展示会出展助成事業・展示会出展助成プラス"], False),
    ("デジタルツールの助成、申請方法を教えて", "ja", "how_to_apply", [], False),
    ("中古の機械も対象になりますか", "ja", "covered_costs", [], True),
    ("設備投資の補助金はいつ申し込めますか", "ja", "application_period", [], False),
    ("従業員20人の小売業です。中小企業にあたりますか？", "ja", "company_size", [], True),
    ("カスハラの奨励金って、もう一回もらえる？", "ja", "multiple_applications", ["カスタマーハラスメント防止対策"], True),
    ("Who do I talk to about passing my business to my daughter?", "en", "contact", [], False),
    ("We are a retailer with 60 employees. Do we count as an SME?", "en", "company_size", [], True),
    ("デジタルツールの補助、パソコンも買える？", "ja", "covered_costs", [], True),
    ("Can I buy a laptop with the digital tool subsidy?", "en", "covered_costs", [], True),
    ("個人事業主でも申請できますか", "ja", "eligibility", [], True),
    ("去年BCPの助成金をもらったけど、2回目も申請できる？", "ja", "multiple_applications", [], True),
    ("助成金はいつ振り込まれますか", "ja", "payment_timing", [], False),
    ("申請の前に必要なことは？", "ja", "prerequisites", [], False),
    ("必要書類は何ですか", "ja", "documents", [], False),
    ("相談者の情報は公開されるのでしょうか?", "ja", "disclosure", [], True),
    ("労働生産性は大企業と比べてどのくらい低いの", "ja", "doc:statistic", [], False),
    ("5つの方向性は", "ja", "doc:directions", [], False),
    ("事例を教えて", "ja", "doc:case", [], False),
    ("補助金を受領できるまでには、どれくらいかかるのか", "ja", "payment_timing", [], False),
    ("補助金の加点がほしくて経営革新計画を出したい。承認までどれくらい見ておけばいい？", "ja", "review_time", [], False),
    ("申請に必要な書類には、どのようなものがありますか?", "ja", "documents", [], False),
    ("中小企業と小規模事業者の定義を解説。その違いとは?", "ja", "company_size", [], False),
    ("企業としては、カスタマーハラスメント(カスハラ)に対してどのような対策をとるべきなのでしょうか?", "ja", "support", ["カスタマーハラスメント防止対策"], False),
    ("When will METI start accepting requests for subsidies?", "en", "application_period", [], False),
    ("元請けに発注後に値引きされたりしてる。どういうのが下請法違反になるの？", "ja", "definition", [], False),
    ("10年後の姿はどう描かれていますか", "ja", "doc:vision", [], False),
    ("地震に備えたい", "ja", "support", [], False),
    ("ネットで自社の商品を売りたいのですが、支援はありますか", "ja", "support", [], True),
    # 「使える？」「もらえる？」 ask about a program only when one is named or talked about
    ("ネットでうちの商品を売りたいんだけど、手伝ってもらえる？", "ja", "support", [], True),
    ("NPO法人でもデジタルツールの助成は使えますか", "ja", "eligibility", [], True),
    ("補助金って何かある？", "ja", "support", [], False),
    ("ＢＣＰって何？", "ja", "definition", [], False),
    ("大企業と中小企業の生産性の差って、縮まってきてるの？", "ja", "doc:statistic", [], True),
    ("跡継ぎの候補がいない会社ってどれくらいあるの？", "ja", "doc:statistic", [], False),
    ("毎日の請求書入力とかデータの転記が面倒で。自動でやってくれるソフトを入れたい", "ja", "support", [], False),
    ("下請けから抜け出すために、同業で新製品を作ったみたいな例ってある？", "ja", "doc:case", [], True),
    ("カスハラの相談ってタダ？", "ja", "fee", ["カスタマーハラスメント防止対策"], False),
    ("カスハラの奨励金って、申請してからいつ頃振り込まれますか？", "ja", "payment_timing", ["カスタマーハラスメント防止対策"], False),
    ("去年、展示会出展助成を使ったんですけど、今年もまた申請できます？", "ja", "multiple_applications", ["展示会出展助成事業・展示会出展助成プラス"], True),
    ("産業交流展ってどこでやってるの？", "ja", "venue", [], False),
    ("公社の専門家派遣は年に何回まで来てもらえる？", "ja", "times", [], False),
    ("展示会出展助成の申請には何が必要？", "ja", "prerequisites", ["展示会出展助成事業・展示会出展助成プラス"], False),
    ("What is the upper limit of the BCP subsidy?", "en", "upper_limit", [], False),
    ("Can a sole proprietor apply for the digital tool subsidy?", "en", "eligibility", [], True),
    ("Who do I call about customer harassment?", "en", "contact", [], False),
    ("When is the deadline for the trade show subsidy?", "en", "application_period", [], False),
    ("We want to prepare for earthquakes. What support is there?", "en", "support", [], False),
    ("I'd like to exhibit at a trade show. Does the city help with booth fees?", "en", "support", [], True),
    # owners drop が and を as they type: a trigger still matches (お金が入る, 申請ができ)
    ("BCPの助成金、お金入るまでどれくらい待つの", "ja", "payment_timing", [], False),
    ("設立2年目の会社ですが申請ができますか", "ja", "eligibility", [], True),
    # a sentence before the question tells the situation unless it asks in so many words
    ("親会社の支払いがいつも遅れることがある。どう動けばいい？", "ja", "support", [], False),
    # a cost item as the thing made or bought: what the subsidy pays for
    ("デジタルツールの助成でホームページ制作は対象となりますか", "ja", "covered_costs", [], True),
    # 「〜しないとダメ？」 is a yes/no question, and about a program it asks what must come first
    ("BCP実践促進助成金って、先にBCPを作っておかないとダメ？", "ja", "prerequisites", ["BCP実践促進助成金"], True),
    # someone else's words in quotes are not the owner's question (タダ is no fee asked, 対象 no eligibility)
    ("小さいキズで「タダにしろ」ってしつこく言うお客さん、これもカスハラって言うの？", "ja", "overview", ["カスタマーハラスメント防止対策"], True),
    ("営業に「この機械は助成の対象です」って言われた。申請方法を教えて", "ja", "how_to_apply", [], False),
    # examples of a named program ask about the program, not the policy document's cases
    ("BCP実践促進助成金の事例ってある？", "ja", "overview", ["BCP実践促進助成金"], True),
    # a cost item, then a word asking whether the money pays for it: no word of the slot needed
    ("BCPの助成でノートパソコン買うのってあり？", "ja", "covered_costs", [], True),
    ("サイバーの助成金、ウイルス対策ソフトの年間ライセンス代は出る？", "ja", "covered_costs", [], True),
    # a trigger's parts a few words apart (前に…もらった, また…出せ)
    ("前に公社の助成金もらったことあるけど、また別のに出せる？", "ja", "multiple_applications", [], True),
    # 「…って聞いたけど本当？」 asks about what was heard
    ("BCPの助成金の締め切りって延びたって聞いたけど本当？", "ja", "application_period", [], True),
    # what a step costs the owner, how to hand it in, what the money goes to, in owners' words
    ("BCPの助成金って、申請するのにお金ってかかるの？", "ja", "fee", [], True),
    ("Does the Tokyo SME center charge a fee for consultations?", "en", "fee", [], True),
    ("BCPの助成金の申請って何からどういう順番でやればいいの？", "ja", "how_to_apply", [], False),
    ("展示会出展助成はパンフレットの作成に利用できるのか", "ja", "covered_costs", ["展示会出展助成事業・展示会出展助成プラス"], True),
    # 代わりに出た新しいやつ: a new program that came instead, no one applying on the owner's behalf
    ("DX推進助成金って、代わりに出た新しいやつと何がどう違うの？", "ja", "definition", [], False),
    # 「…が必要?」 names what a program requires: a yes/no question of its prerequisites
    ("BCP実践促進助成金の申請には、事業継続力強化計画の認定が必要?", "ja", "prerequisites", ["BCP実践促進助成金"], True),
    # what it costs the owner to take part, not what a subsidy pays at most
    ("ビッグサイトの産業交流展に初めて出てみたい。ブースを出すのにいくらぐらいかかる？", "ja", "fee", [], False),
    # 人件費 is the owner's situation in a sentence that asks nothing; the question asks what support exists
    ("材料費も人件費も上がってるのに、取引先に値上げを言い出せない。価格転嫁を後押ししてくれる法律とか制度って何かある？", "ja", "support", [], False),
    # "apply for a loan": the loan is what the owner would apply for, not a kind of support the words describe
    ("I am a foreign resident planning to open a small restaurant. Can I apply for a startup loan from JFC?", "en", "eligibility", [], True),
    # whether the company counts as an SME, in owners' words
    ("大手メーカーが株の6割持ってる子会社なんだけど、資本金も人数も小さいから中小企業ってことでいいんだよね？", "ja", "company_size", [], True),
    # 「法人じゃないとダメ？」 asks who may apply, not what must be done first
    ("BCP実践促進助成金って法人じゃないとダメ？", "ja", "eligibility", ["BCP実践促進助成金"], True),
    # a fee the subsidy may pay: what it covers, not what the program costs
    ("会社売るのに仲介会社に払う手数料って、事業承継の補助金で出る？", "ja", "covered_costs", [], True),
    # a closing bracket only names the program; 「それとも…」 belongs to the question before it
    ("ハードウェアは助成対象になる?(中小企業デジタルツール導入促進支援事業)", "ja", "covered_costs", ["中小企業デジタルツール導入促進支援事業"], True),
    ("BCPの助成金でお金って採択されたらすぐもらえるの?それとも後から?", "ja", "payment_timing", [], False),
]


def test_a_word_the_guide_explains_is_asked_for_its_meaning(parts):
    """「二つ星って何？」 asks what the word means (its guide explains it); 「セキュリティアクションって何？」 asks what the
    program is; comparing two parts of one program (一つ星と二つ星) asks what each means."""
    tokenizer, terms = parts
    name = "SECURITY ACTION（セキュリティ対策自己宣言）"
    names = ProgramNames([(name, ("セキュリティアクション",))], terms={name: ["一つ星", "二つ星"]})

    def asks(q):
        tokens = tokenizer.tokens(q)
        return understand(q, None, names=names, tokens=tokens, matches=terms.matches(q, tokens)).asks

    assert asks("セキュリティアクションの二つ星って何？") == "definition"
    assert asks("取引先に言われた。セキュリティアクションの一つ星と二つ星って何が違うの？") == "definition"
    assert asks("セキュリティアクションって何？") == "overview"


def test_money_is_what_the_owner_asks_for(parts):
    tokenizer, terms = parts
    def money(q):
        return understand(q, None, names=NAMES, tokens=tokenizer.tokens(q), matches=terms.matches(q, tokenizer.tokens(q))).money
    assert money("出展費用の一部を負担していただけるような制度はございますか")
    assert money("Is there a subsidy to help pay for cybersecurity?")
    assert not money("ネットショップの売り方を相談できるところある？")


@pytest.fixture(scope="module")
def parts():
    return get_tokenizer(), get_term_map()


@pytest.mark.parametrize("question,language,asks,programs,yes_no", TABLE, ids=[r[0][:24] for r in TABLE])
def test_one_understanding_per_question(parts, question, language, asks, programs, yes_no):
    tokenizer, terms = parts
    tokens = tokenizer.tokens(question)
    intent = understand(question, None, names=NAMES, tokens=tokens, matches=terms.matches(question, tokens))
    assert intent.language == language
    assert intent.asks == asks
    assert intent.programs == programs
    assert intent.yes_no is yes_no
    assert intent.to_dict()["asks"] == asks


def test_the_condition_a_yes_no_question_hinges_on(parts):
    tokenizer, terms = parts
    for question, condition in [("中古の機械も対象になりますか", "中古"), ("個人事業主でも申請できますか", "個人事業主")]:
        tokens = tokenizer.tokens(question)
        intent = understand(question, None, names=NAMES, tokens=tokens, matches=terms.matches(question, tokens))
        assert intent.condition == condition


def test_an_english_condition_is_looked_up_by_its_japanese_word(parts):
    tokenizer, terms = parts
    question = "Is the cybersecurity subsidy available to NPOs?"
    tokens = tokenizer.tokens(question)
    intent = understand(question, None, names=NAMES, tokens=tokens, matches=terms.matches(question, tokens))
    assert (intent.asks, intent.yes_no, intent.condition) == ("eligibility", True, "NPO")


def test_a_follow_up_keeps_the_program_of_the_last_turn(parts):
    tokenizer, terms = parts
    state = {"last": {"query": "自家発電機を入れたい", "direction": "④", "programs": ["BCP実践促進助成金"], "asks": "support", "shown": [], "cited": []}}
    question = "申請の前に必要なことは？"
    tokens = tokenizer.tokens(question)
    intent = understand(question, state, names=NAMES, tokens=tokens, matches=terms.matches(question, tokens))
    assert intent.act == "follow_up"
    assert intent.asks == "prerequisites"
    assert intent.programs == ["BCP実践促進助成金"]


def test_english_please_restates_the_last_topic_in_english(parts):
    tokenizer, terms = parts
    state = {"last": {"query": "BCPの助成金の上限", "asks": "upper_limit", "programs": ["BCP実践促進助成金"], "shown": ["x"], "cited": ["x"]}}
    intent = understand("英語で説明して", state, names=NAMES, tokens=tokenizer.tokens("英語で説明して"), matches=[])
    assert (intent.act, intent.language, intent.asks, intent.reuse) == ("restate", "en", "upper_limit", ["x"])


def test_owner_facts_travel_with_the_intent(parts):
    tokenizer, terms = parts
    owner = {"employees": 10, "industry": "manufacturing"}
    question = "助成率は？"
    intent = understand(question, None, names=NAMES, tokens=tokenizer.tokens(question), matches=[], owner=owner)
    assert intent.owner == owner and intent.to_dict()["owner"] == owner


@pytest.mark.parametrize(
    "text,expected",
    [("対象になりますか", True), ("上限はいくらですか", False), ("Is it free?", True), ("How much is it?", False), ("展示会に出たい", False)],
)
def test_yes_no_questions(text, expected):
    assert is_yes_no(text) is expected


def test_language():
    assert language_of("How much can we get?") == "en"
    assert language_of("ＢＣＰの助成金") == "ja"


def test_the_word_a_definition_asks_about_and_a_question_that_only_uses_tte():
    from bot.core.intent import term_asked

    assert term_asked("ＢＣＰって何？") == "ＢＣＰ"
    assert term_asked("事業承継ファンドってネットで調べてもよくわからん。どういう仕組み？") == "事業承継ファンド"
    assert term_asked("BCPの助成金、採択の発表っていつごろ？") is None  # asks when, not what 採択の発表 is
    assert term_asked("What exactly is it?") is None  # a pronoun names no word to define
    assert term_asked("持続化っていくら出る？") is None
    assert term_asked("元請から一方的に代金を減らされた。これって下請法違反じゃないの？") is None  # これ points back
