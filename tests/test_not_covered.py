"""What the documents do not hold: named back with who runs it and where to ask, never swapped for a
Tokyo program; and the owner's situation is not the question. Real index of the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.directory import Directory
from bot.core.intent import question_part, slot_confidence, unknown_names_in

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def first_sentence(text: str) -> str:
    return text.split("\n", 1)[0].split("。", 1)[0]


@pytest.mark.parametrize(
    "question,named",
    [
        ("業務改善助成金の上限は？", "業務改善助成金"),
        ("キャリアアップ助成金って正社員化で使える？", "キャリアアップ助成金"),
        ("経営革新計画って何がもらえるの？", "経営革新計画"),
        ("小規模企業共済って入った方がいい？", "小規模企業共済"),
        ("セーフティネット保証の認定ってどこでもらう？", "セーフティネット保証"),
        ("日本公庫ってどんなところ？", "日本政策金融公庫"),
    ],
)
def test_a_program_the_documents_do_not_hold_is_named_with_who_runs_it_and_where_to_ask(advisor, question, named):
    answer = advisor.ask(question)
    first = first_sentence(answer.answer)
    entry = advisor.library.directory.entries[named]
    assert answer.answer_kind == "not_covered"
    assert named in first and "手元の資料" in first and "載っていない" in first
    assert entry.desk.split("（")[0] in first  # where to ask, in the same sentence
    assert answer.citations and answer.citations[0].result.chunk.kind == "directory"
    assert answer.citations[0].result.chunk.section.endswith(named)
    # never an answer about a Tokyo program instead
    assert not first.startswith("「事業承継") and "BCP実践促進助成金」の" not in first
    assert answer.to_dict()["intent"]["other_programs"][0] == named


def test_an_english_question_about_one_is_answered_in_english(advisor):
    answer = advisor.ask("How much can I get from the career up subsidy?")
    assert answer.answer_kind == "not_covered"
    assert answer.answer.startswith("The Career Up Subsidy")
    assert "not covered by the documents" in first_sentence(answer.answer) or "not covered by the documents" in answer.answer.split("\n")[0]
    assert not any("\u3040" <= ch <= "\u309f" for ch in answer.answer.split("(「")[0])  # no hiragana before the Japanese name


def test_where_a_guide_mentions_it_that_sentence_follows_cited(advisor):
    answer = advisor.ask("日本公庫ってどんなところ？")
    assert answer.answer_kind == "not_covered"
    assert any(c.result.chunk.program and c.result.chunk.program.startswith("事業承継の金融支援") for c in answer.citations)
    assert "なお、手元の資料では" in answer.answer.split("\n")[1]


def test_a_name_nobody_knows_is_said_to_be_outside_the_documents(advisor):
    answer = advisor.ask("地域雇用開発助成金って今も使える？")
    assert answer.answer_kind == "not_covered"
    assert first_sentence(answer.answer).startswith("「地域雇用開発助成金」は手元の資料")
    assert answer.intent["named"] == [{"name": "地域雇用開発助成金", "status": "unknown"}]


def test_a_program_the_directory_knows_is_named_with_who_runs_it(advisor):
    answer = advisor.ask("雇用調整助成金って今も使える？")
    assert answer.answer_kind == "not_covered"
    assert answer.intent["named"] == [{"name": "雇用調整助成金", "status": "not_in_documents"}]
    assert "厚生労働省" in first_sentence(answer.answer) and answer.citations[0].result.chunk.kind == "directory"


def test_a_question_naming_a_tokyo_program_beside_one_outside_answers_the_tokyo_one(advisor):
    answer = advisor.ask("業務改善助成金とBCPの助成金って併用できる？")
    assert answer.answer_kind in ("fact", "not_stated")
    assert answer.answer.startswith("「BCP実践促進助成金」")
    assert "業務改善助成金" in answer.answer.split("\n")[1]  # the other is named as not covered, with its desk


def test_a_law_named_only_as_what_a_seminar_is_about_does_not_take_the_question(advisor):
    answer = advisor.ask("下請法とか、取引に関する法律の講習会ってやってますか？")
    assert answer.answer_kind == "support"
    assert "講習会" in first_sentence(answer.answer)


@pytest.mark.parametrize(
    "question,unwanted",
    [
        ("材料費や人件費が上がっても販売価格に上乗せできず困っています", "人件費の扱い"),
        ("取引条件の改善について指導してくれる人はいますか", "条件の扱い"),
        ("納品して2か月たつのに取引先から代金が支払われません。どうしたらいいですか", "支払い時期"),
    ],
)
def test_the_owners_situation_is_not_the_question(advisor, question, unwanted):
    answer = advisor.ask(question)
    assert answer.intent["asks"] == "support"
    assert answer.intent["slot_confidence"] < 0.5
    assert unwanted not in answer.answer and "記載がありません" not in first_sentence(answer.answer)


def test_a_scheme_only_in_someone_elses_words_is_the_setting_not_the_question(advisor):
    """The invoice system is what the contractor said; the owner asks what to do about a price cut: the
    subcontracting desk answers, and the invoice system is named beside it with its own desk."""
    answer = advisor.ask("免税事業者のままなんだけど、元請から「インボイス出せないなら消費税分値引きして」って言われた。どうすりゃいいの？")
    assert answer.answer_kind != "not_covered"
    assert answer.intent["topic"] == "③"
    assert "下請" in first_sentence(answer.answer)
    assert "インボイス制度" in answer.answer and "国税庁" in answer.answer


def test_a_violation_question_the_guide_does_not_decide_gets_no_stock_yes(advisor):
    """「これって下請法違反？」: no sentence says yes or no of the owner's facts; never 「はい」 from the
    sentence on what a violation leads to, and never a definition of 「これ」."""
    answer = advisor.ask("元請から一方的に代金を減らされた。これって下請法違反じゃないの？")
    assert not answer.answer.startswith(("はい", "いいえ"))
    assert "ＩＣＴ" not in answer.answer
    assert "0120-060-110" in first_sentence(answer.answer) or "0120-060-110" in answer.answer.split("\n")[0]


def test_an_unpaid_supplier_is_sent_to_the_subcontracting_desk_not_to_succession(advisor):
    answer = advisor.ask("納品して2か月たつのに取引先から代金が支払われません。どうしたらいいですか")
    assert "下請" in answer.answer and "事業承継" not in answer.answer


def test_hardware_asks_what_a_subsidy_covers(advisor):
    answer = advisor.ask("DX推進助成金ってハードウェアは助成対象になる？")
    assert answer.intent["asks"] == "covered_costs"
    assert "ハードウェア" in first_sentence(answer.answer)


def test_every_answer_says_what_kind_it_is(advisor):
    kinds = {
        "BCP実践促進助成金の上限はいくらですか": "fact",
        "明日の東京の天気どう？": "refused",
        "補助金ある？": "clarify",
        "業務改善助成金の上限は？": "not_covered",
        "持続化補助金の上限は？": "fact",  # a national program with its own guide: the documents hold it
        "展示会に出たいけど支援ある？": "support",
    }
    for question, kind in kinds.items():
        data = advisor.ask(question).to_dict()
        assert data["answer_kind"] == kind, question
        assert {"act", "topic", "slot_confidence", "other_programs"} <= set(data["intent"])


def test_off_topic_is_read_by_the_understanding(advisor):
    answer = advisor.ask("木曜に都内で客先回りあるんだけど傘いるかな")
    assert answer.refused and answer.intent["topic"] == "off_topic"


def test_an_everyday_word_inside_a_longer_word_is_not_everyday_talk(advisor):
    """ランチ in フランチャイズ: a franchisee asking whether it may apply is no lunch question."""
    answer = advisor.ask("フランチャイズの加盟店でも対象？")
    assert not answer.refused and answer.intent["topic"] != "off_topic"


# -- the parts, without an index -----------------------------------------------------------------


def test_the_directory_finds_nicknames_and_english_names_as_words():
    directory = Directory.load(CORPUS)
    assert len(directory) >= 30
    assert directory.named_in("持続化のやつって上限いくら") == ["小規模事業者持続化補助金"]
    assert directory.named_in("my accountant keeps mentioning mono hojo") == ["ものづくり・商業・サービス生産性向上促進補助金"]
    assert directory.named_in("I use an iPad for IPA training") == ["情報処理推進機構（IPA）"]
    assert directory.named_in("I use an iPad") == []
    # the longer name is read once: 取適法's entry, not also 下請法 inside 改正下請法
    assert directory.named_in("改正下請法っていつから？") == ["中小受託取引適正化法"]
    # a name the documents hold is not read again as an outside one
    assert directory.named_in("下請かけこみ寺に相談したい", known=["下請かけこみ寺"]) == []


def test_unknown_program_names_are_names_of_their_own():
    assert unknown_names_in("雇用調整助成金って使える？") == ["雇用調整助成金"]
    assert unknown_names_in("設備投資補助金ってある？") == []
    assert unknown_names_in("都の助成金とIT補助金の違い") == []
    assert unknown_names_in("申請方法を教えて") == []
    # a program's name may end in 〜助成事業, 〜貸与事業 or 〜ビザ as well as in 〜助成金
    assert unknown_names_in("新製品・新技術開発助成事業の締切は？") == ["新製品・新技術開発助成事業"]
    assert unknown_names_in("外国人でもスタートアップビザって取れる？") == ["スタートアップビザ"]
    assert unknown_names_in("事業承継の支援事業ってある？") == []
    # 〜制度 names a scheme; two kinds of subsidy side by side name none
    assert unknown_names_in("インボイス制度で免税事業者はどうなる？") == ["インボイス制度"]
    assert unknown_names_in("「奨励金」とは?補助金・助成金との違い") == []
    assert unknown_names_in("個人事業主でも使える制度はありますか") == []


def test_a_slot_word_in_the_owners_situation_is_unsure():
    assert question_part("人件費が上がってるんだけど、設備の補助金ってある？") == "設備の補助金ってある"
    sure = slot_confidence("BCP実践促進助成金の上限はいくらですか", "upper_limit", "上限", program_talk=True)
    situation = slot_confidence("人件費が上がって困っています。どうすればいいですか", "covered_costs", "人件費", program_talk=False)
    compound = slot_confidence("取引条件の改善について相談したい", "eligibility", "条件", program_talk=False)
    assert sure == 1.0 and situation < 0.5 and compound < 0.5


def test_an_incident_told_is_answered_by_the_incident_guides_desk(advisor):
    """「ランサムウェアにやられたっぽい」 names the guide to where incidents are reported (its owners' words): its
    desk with the phone first, from the documents (before that guide knew those words, the desks beyond the
    documents were named; Tcyss's question below still is)."""
    answer = advisor.ask("ランサムウェアにやられたっぽい。まずどこに連絡すればいい？")
    first = answer.answer.split("\n")[0]
    assert "記載がありません" not in first and "03-5805-1731" in first and "サイバー被害の届出・相談先" in first
    assert answer.answer_kind == "fact"


@pytest.mark.parametrize("question", ["ハッキングされたかもしれない…どこに相談すればいいの？", "Tcyssの電話番号は？"])
def test_a_desk_question_goes_to_its_topics_desk_and_a_sentence_without_a_number_is_no_desk(advisor, question):
    """「ハッキングされた…どこに相談」 is the cyber desk's question, not the general one's; Tcyss's guide says a
    desk was opened but gives no number, so the desks beyond the documents with their phones come first."""
    answer = advisor.ask(question)
    first = answer.answer.split("\n")[0]
    assert "Tcyss" in first and "03-5805-1731" in first and "ワンストップ" not in answer.answer


def test_a_slot_question_is_never_answered_for_a_program_of_another_topic(advisor):
    """「海外向けの補助って…費用にも使える？」 found the BCP subsidy beside the policy's passages on overseas
    markets and answered its eligibility; a program of another direction is not what the question asks about."""
    answer = advisor.ask("輸出を始めたい。海外向けの補助って、現地の認証を取る費用にも使える？")
    assert answer.intent["topic"] == "②"
    assert "BCP" not in answer.answer and not any(c.result.chunk.program == "BCP実践促進助成金" for c in answer.citations)


def test_a_serving_host_reads_the_directory_from_the_index_not_from_corpus(tmp_path):
    """Deployments ingest once and share the data dir: the directory's entries travel in the index."""
    import shutil

    from bot.advisor import Advisor
    from bot.settings import Settings
    from bot.store import ConversationStore
    from ingest.pipeline import ingest

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    assert ingest(settings).ok
    shutil.rmtree(corpus)  # the serving host has no corpus/
    answer = Advisor(settings, store=ConversationStore("sqlite://")).ask("業務改善助成金ってなに？")
    assert answer.answer_kind == "not_covered" and answer.citations[0].result.chunk.kind == "directory"


def test_grant_and_subsidy_are_one_word_in_an_english_name(advisor):
    """Owners say "the career up grant" for the career up subsidy: named back, not swapped for a Tokyo subsidy."""
    answer = advisor.ask("We run a small dental clinic. What can the career up grant actually pay for?")
    assert answer.answer_kind == "not_covered"
    assert first_sentence(answer.answer).startswith("The Career Up Subsidy")
    assert not any(c.result.chunk.program for c in answer.citations)  # no Tokyo program's passage


def test_a_figure_asked_of_a_national_program_is_never_a_tokyo_programs(advisor):
    """「IT補助金…補助率って何割？」: 補助率 asks the named program's rate, not for another subsidy; the Tokyo
    digital-tool rate must not answer it (the national program's own guide does)."""
    answer = advisor.ask("従業員3人の雑貨屋でIT補助金使ってレジと会計ソフト入れたい。補助率って何割なの？")
    first = answer.answer.split("\n")[0]
    assert "デジタル化・AI導入補助金" in first and "中小企業デジタルツール導入促進支援事業" not in first
    assert answer.citations[0].result.chunk.program.startswith("デジタル化・AI導入補助金")


@pytest.mark.parametrize(
    "question,suggested",
    [
        ("工場の蛍光灯を全部LEDに替えたい。電気代も下がるし、何か使える補助金ない？", "省エネルギー投資促進支援事業費補助金"),
        ("得意先が破産した。売掛300万が飛びそうで来月の支払いがやばい。運転資金どうにかする手ってある？", "セーフティネット保証"),
        ("受注が急に減って、社員を何日か休ませるしかない。何か助成ってある？", "雇用調整助成金"),
        ("これから独立して飲食店を開業したい。開業資金を借りられるところある？", "日本政策金融公庫の新規開業"),
        ("社員の退職金を準備しておきたいんだけど、何かいい制度ある？", "中小企業退職金共済"),
        ("海外に自社製品を輸出したい。相談できるところある？", "ジェトロ"),
        ("台風で工場が浸水しちゃった。被災した会社に国ってどんなお金の支援をしてくれるの？", "災害復旧貸付"),
    ],
)
def test_a_problem_the_documents_hold_no_support_for_names_the_directorys_program_for_it(advisor, question, suggested):
    """A problem described without naming a program, that no document supports (LED, a customer's bankruptcy):
    'the documents hold no support for this', then the program the directory knows for it (its `topics`),
    who runs it and where to ask, cited to the directory; never the nearest policy sentence or another loan."""
    answer = advisor.ask(question)
    first = first_sentence(answer.answer)
    assert answer.answer_kind == "not_stated"
    assert "手元の資料" in first and "ありません" in first and suggested in answer.answer.split("\n")[0]
    assert answer.citations[0].result.chunk.kind == "directory"
    assert "事業承継" not in answer.answer and "現在の課題" not in answer.answer


def test_a_page_that_is_not_the_operators_own_is_not_called_official(advisor):
    """The directory's page for the disaster loans is a news article (source_kind secondary): a reference
    page, said so; a tax office's page (official) is the official page."""
    answer = advisor.ask("台風で工場が浸水しちゃった。被災した会社に国ってどんなお金の支援をしてくれるの？")
    assert "参考ページ（公式ではありません）" in answer.answer and "公式ページ" not in answer.answer
    official = advisor.ask("インボイス制度って登録しないと困ることある？")
    assert "公式ページ：https://www.nta.go.jp" in official.answer


def test_a_trade_named_in_the_situation_is_not_everyday_talk(advisor):
    """旅行会社 is the customer's trade: a deduction from a subcontractor's fee is no travel question, and the
    law's guide answers what to do."""
    answer = advisor.ask(
        "A社は旅行会社であるB社から手配・予約業務を受託しており、先日報酬の支払がありましたが、当初提示されていた金額よりも"
        "少なかったため確認したところ、業績悪化を理由に「協力金」として一定率を差し引いたとの回答がありました。どのように対応すればよろしいでしょうか。"
    )
    assert answer.intent["topic"] != "off_topic" and not answer.refused
    assert "取適法" in first_sentence(answer.answer) and "現在の課題" not in first_sentence(answer.answer)


def test_a_problem_the_documents_do_support_is_not_sent_elsewhere(advisor):
    answer = advisor.ask("展示会に出たいんだけど補助ある？")
    assert answer.answer_kind != "not_stated" and "展示会出展助成" in first_sentence(answer.answer)


def test_a_yes_or_no_is_said_of_the_words_of_the_question_not_of_the_situation(advisor):
    """「業者さんいわく…カタログには載ってないらしい。それでも補助出る？」: 業者 (the vendor) inside 事業者 is no
    condition the guide says yes to; no stock はい about who may apply."""
    answer = advisor.ask("うちの工場に入れたい自動梱包機、業者さんいわく省力化補助金のカタログには載ってないらしい。それでも補助出る？")
    assert not answer.answer.startswith("はい")


def test_what_to_do_when_only_the_problem_was_found_is_answered_by_a_guide_of_its_direction(advisor):
    """The search finds only the policy's account of the problem (価格転嫁ができない); the owner asks how to
    negotiate: the guide of direction ③ that fits leads, never 「現在の課題」."""
    answer = advisor.ask("車の部品作ってる町工場です。材料高いから値上げお願いしたら「据え置きじゃなきゃ切る」って言われた…どうにか交渉する方法ない？")
    first = first_sentence(answer.answer)
    assert "現在の課題" not in first and ("価格交渉" in first or "下請" in first or "取適法" in first)


def test_ordering_before_the_grant_decision_is_answered_by_that_rule(advisor):
    """「交付決定が出る前に発注しちゃいたい。これって補助の対象から外れる？」 names no program: the common rule's
    sentence on orders before the decision leads (not the rule's first sentence, not some program found)."""
    answer = advisor.ask("機械の納期が3か月かかるから、補助金の交付決定が出る前に発注しちゃいたい。これって補助の対象から外れる？")
    first = first_sentence(answer.answer)
    assert "交付決定" in first and "対象にならない" in first and "「" not in first


def test_a_program_whose_guide_says_the_rule_is_quoted_and_the_yes_is_to_what_was_asked(advisor):
    """A guide that states it (新事業進出) is quoted with no: ordering first is not allowed; asked 「外れる？」 the
    same sentence answers yes."""
    allowed = advisor.ask("新事業進出補助金って交付決定の前に発注してもいい？")
    assert allowed.answer.startswith("いいえ") and "交付決定の前" in first_sentence(allowed.answer)
    excluded = advisor.ask("新事業進出補助金って、交付決定の前に発注した機械は補助の対象から外れる？")
    assert excluded.answer.startswith("はい") and "対象になりません" in first_sentence(excluded.answer)


def test_a_program_whose_guide_does_not_say_it_gets_the_rule_in_general(advisor):
    answer = advisor.ask("もの補助、交付決定の前に機械を発注しちゃったんだけどダメ？")
    assert answer.answer_kind == "not_stated" and "交付決定の前に発注・契約した経費は、対象にならないのが一般的" in answer.answer


def test_the_rule_on_orders_before_the_decision_is_found_and_said_in_english(advisor):
    answer = advisor.ask("I already paid for some equipment last month. If I apply for a subsidy now, can those costs be covered?")
    assert "before the grant decision are generally not covered" in first_sentence(answer.answer)


def test_a_disaster_that_may_come_is_no_disaster_that_came(advisor):
    # 「被災したら」 asks how to prepare (the documents' BCP support), not for disaster loans after the fact
    answer = advisor.ask("仕入先が被災したらうちも止まっちゃう。こういうリスクに都はどう備えるつもり？")
    assert answer.answer_kind == "support" and "災害貸付" not in answer.answer
    after = advisor.ask("台風で倉庫が浸水した。被災したので資金繰りが厳しい、使える融資ある？")
    assert "災害貸付" in after.answer or "災害復旧" in after.answer


def test_another_prefectures_program_written_with_no_is_outside_the_documents(advisor):
    answer = advisor.ask("川崎にも工場があって設備を入れたい。神奈川の生産性向上の補助金で対象外になる設備ってどんなの？")
    assert answer.answer_kind == "not_covered"
    assert "神奈川の生産性向上の補助金" in answer.answer.split("\n")[0]


def test_a_longer_name_outside_the_documents_is_not_read_as_the_shorter_one_inside_it(advisor):
    # 個人版事業承継税制 (a directory entry) holds 事業承継税制 (the corporate scheme the documents cover)
    answer = advisor.ask("「個人版事業承継税制」とは？")
    assert answer.answer_kind == "not_covered"
    assert answer.answer.split("\n")[0].startswith("「個人版事業承継税制」は手元の資料")
    assert not answer.programs


def test_the_credit_guarantee_system_is_named_back_with_who_runs_it(advisor):
    answer = advisor.ask("信用保証制度を利用したいのですが、どこに申し込めば良いのですか?")
    first = answer.answer.split("\n")[0]
    assert answer.answer_kind == "not_covered" and first.startswith("「信用保証制度」") and "東京信用保証協会" in first
