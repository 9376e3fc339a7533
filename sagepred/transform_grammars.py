"""Words of a request to transform a pasted text, per language (:mod:`sagepred.length_transforms`).

English is read by the grammar in :mod:`sagepred.length_transforms` itself; these tables let a request
in Spanish, Portuguese, French, Italian, German, Russian, Chinese or Japanese be read the same way
("Traduce esto al inglés:", "Korrigier bitte die Rechtschreibung:", "帮我把这段话翻译成英文"). Each field
is an alternation of regular expressions, matched case-insensitively; stems end in ``\\w*`` to take
every inflection (imperative, infinitive, polite form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TransformWords:
    """How one language asks to rewrite, translate, shorten or expand a text."""

    code: str = field(metadata={"help": "ISO 639-1 code"})
    rewrite: str = field(metadata={"help": "verbs that give the text back changed (correct, rewrite, …)"})
    translate: str = field(metadata={"help": "verbs and phrases of translating"})
    half: str = field(metadata={"help": "asking for half the length"})
    shorter: str = field(metadata={"help": "asking for a shorter text"})
    longer: str = field(metadata={"help": "asking for a longer text"})
    summary: str = field(metadata={"help": "asking for a summary (no transform: its length is its own)"})
    asks_about: str = field(metadata={"help": "asking about the text, or for feedback (no transform)"})
    languages: Mapping[str, str] = field(metadata={"help": "a language's name (regex) -> ISO code"})


SPANISH = TransformWords(
    code="es",
    rewrite=(
        r"corr[ií]g\w*|correg\w*|revis(?:a|ar|e|en|ame|alo|ala)\b|revís\w+|reescr[ií]b\w*|parafrase\w*|red[uú]c\w*|"
        r"pon\w*\s+(?:\w+\s+){0,2}más|transf[oó]rm\w*|"
        r"reformul\w*|redact\w+ de nuevo|mejór\w+|mejor(?:a|ar|alo|ala|ame)\b|pul\w+ (?:el|este|mi|la|esta)|"
        r"edit(?:a|ar|alo|ala|ame)\b|edít\w+|acort\w*|ampl[ií](?:a|ar|alo|ala|ame)\b|amplía\w*|"
        r"alarg(?:a|ar|alo|ala)\b|alárg\w+|simplific(?:a|ar)\b|simplifíc\w+|adapt(?:a|ar|alo|ala)\b|"
        r"adápt\w+|suaviz\w*|hazl[oa] más|haz(?:me)? (?:que|el|este|la|esta)|hac\w+ más|"
        r"pon(?:lo|la|me)? en (?:un )?(?:tono|registro)"
    ),
    translate=r"traduc\w*|tradúc\w*|pás\w+ al?\b|pas\w* al?\b|necesit\w+ (?:est[eoa]|el|la|lo)\b[^.?!\n]{0,30}?\ben\b",
    half=r"mitad",
    shorter=r"acort\w*|más cort\w*|más breve|reduc\w*|condens\w*|recort\w*|más concis\w*|a la mitad",
    longer=r"ampl[ií]\w*|alarg\w*|desarroll\w*|más larg\w*|extend\w*|expand\w*|más detall\w*",
    summary=r"resum\w*|resumen|síntesis|sintetiz\w*",
    asks_about=(
        r"qué significa|qué opinas|opini[oó]n|comentarios sobre|es correct[oa]\??|cómo se dice|respond\w*|contest\w*|"
        r"no (?:lo |la |me lo )?corrijas|sin corregir|qué nota"
    ),
    languages={
        r"ingl[eé]s": "en",
        r"español|castellano": "es",
        r"portugu[eé]s": "pt",
        r"franc[eé]s": "fr",
        r"italiano": "it",
        r"alem[aá]n": "de",
        r"ruso": "ru",
        r"chino": "zh",
        r"japon[eé]s": "ja",
    },
)

PORTUGUESE = TransformWords(
    code="pt",
    rewrite=(
        r"corrij\w*|corrig\w*|revis(?:a|ar|e|em)\b|revisa-\w+|reescrev\w*|parafrase\w*|reformul\w*|"
        r"melhor(?:a|ar|e)\b|melhore-\w+|edit(?:a|ar|e)\b|encurt\w*|ampli(?:a|ar|e)\b|expand(?:a|ir|e)\b|"
        r"simplifi(?:ca|car|que)\b|adapt(?:a|ar|e)\b|suaviz\w*|deix\w+ (?:\w+ ){0,3}(?:mais|menos)|"
        r"ajust(?:a|ar|e)\b|cort(?:a|ar|e)\b|desenvolv\w*|transform\w*"
    ),
    translate=r"traduz\w*|tradu[zç]\w*|pass\w* (?:pro|pra|para o|para)\b",
    half=r"metade",
    shorter=r"encurt\w*|mais curt\w*|reduz\w*|condens\w*|mais enxut\w*|mais concis\w*|pela metade|cort\w*",
    longer=r"ampli\w*|expand\w*|mais long\w*|desenvolv\w*|alongu\w*|mais detalh\w*",
    summary=r"resum\w*|síntese|sintetiz\w*",
    asks_about=(
        r"o que significa|o que (?:você )?acha|opini[aã]o|coment[aá]rios sobre|está correto|como se diz|"
        r"respond[ae]\b|responder (?:a|ao|à)\b|quanto (?:você )?daria|nota\b|o que (?:eu )?preciso|"
        r"não (?:precisa )?corrig\w*|sem corrigir"
    ),
    languages={
        r"ingl[eê]s": "en",
        r"portugu[eê]s": "pt",
        r"espanhol": "es",
        r"franc[eê]s": "fr",
        r"italiano": "it",
        r"alem[aã]o": "de",
        r"russo": "ru",
        r"chin[eê]s": "zh",
        r"japon[eê]s": "ja",
    },
)

FRENCH = TransformWords(
    code="fr",
    rewrite=(
        r"corrig\w*|reli[st]\w*|relire|réécri\w*|reformul\w*|paraphras\w*|amélior(?:e|er|ez)\b|"
        r"révis(?:e|er|ez)\b|"
        r"retravaill\w*|rend\w* (?:\w+ ){0,2}(?:plus|moins)|rends?-(?:le|la|moi)|raccourc\w*|développ(?:e|er|ez)\b|étof\w*|allong\w*|"
        r"simplifi(?:e|er|ez)\b|adapt(?:e|er|ez)\b|adouci\w*|divis\w*(?:-le|-la)? par deux|transform\w*|peaufin\w*|remani\w*|mets?(?:-le| le| ce| ça)? (?:au|en) (?:propre|forme)"
    ),
    translate=r"tradui\w*|tradu[iso]\w*|passe\w* (?:en|ce texte en)",
    half=r"moitié|par deux",
    shorter=r"raccourc\w*|plus court\w*|réduire|rédui\w*|condens\w*|allég\w*|plus concis\w*|de moitié|par deux",
    longer=r"développ\w*|étof\w*|allong\w*|plus long\w*|enrichi\w*|plus détaill\w*",
    summary=r"résum\w*|synthèse|synthétis\w*",
    asks_about=(
        r"que veut dire|qu'en penses|ton avis|votre avis|est-ce correct|comment (?:on )?dit|répond\w*|"
        r"tradui\w* comment|comment (?:tu )?tradui\w*|(?:le|ce) mot\s*[«\"“]|l'expression|ne (?:le |la )?corrige pas|"
        r"sans (?:le |la )?corriger|quelle note"
    ),
    languages={
        r"anglais": "en",
        r"français": "fr",
        r"espagnol": "es",
        r"portugais": "pt",
        r"italien": "it",
        r"allemand": "de",
        r"russe": "ru",
        r"chinois": "zh",
        r"japonais": "ja",
    },
)

ITALIAN = TransformWords(
    code="it",
    rewrite=(
        r"corregg\w*|rilegg\w*|riscriv\w*|riformul\w*|parafras\w*|miglior(?:a|are|ami|alo|ala)\b|"
        r"rived(?:i|ere|imi)\b|accorci\w*|ampli(?:a|are|ami|alo|ala)\b|espand(?:i|ere|ila|ilo)\b|riduc\w*|"
        r"allung(?:a|are|alo|ala|ami)\b|semplific(?:a|are|ami)\b|adatt(?:a|are|alo|ala)\b|"
        r"ammorbid\w*|rend\w* (?:\w+ ){0,3}(?:più|meno)|"
        r"rendil[oa]|revision(?:a|are|ami)\b|dimezz\w*|trasform\w*"
    ),
    translate=r"tradu[cr]\w*|traduzion\w*|volg\w+ in",
    half=r"metà|dimezz\w*",
    shorter=r"accorci\w*|più brev\w*|più cort\w*|ridu\w*|condens\w*|snellisc\w*|più concis\w*|della metà|dimezz\w*",
    longer=r"ampli\w*|espand\w*|allung\w*|più lung\w*|svilupp\w*|arricch\w*|più dettagl\w*",
    summary=r"riassum\w*|riassunto|sintesi|sintetizz\w*",
    asks_about=(
        r"cosa significa|che ne pensi|parere|opinione|è corrett[oa]|come si dice|rispond\w*|voto\b|giudizio|"
        r"non corregg\w*|senza correggere|dimmi solo"
    ),
    languages={
        r"inglese": "en",
        r"italiano": "it",
        r"spagnolo": "es",
        r"portoghese": "pt",
        r"francese": "fr",
        r"tedesco": "de",
        r"russo": "ru",
        r"cinese": "zh",
        r"giapponese": "ja",
    },
)

GERMAN = TransformWords(
    code="de",
    rewrite=(
        r"korrigier\w*|korrekturles\w*|überarbeit\w*|umschreib\w*|schreib\w* (?:\w+ ){0,4}um\b|"
        r"formulier\w* (?:\w+ ){0,4}um\b|umformulier\w*|verbesser(?:e|n|t)?\b|kürz(?:e|en|t)?\b|glätt\w*|"
        r"paraphrasier\w*|erweiter(?:e|n|t)?\b|vereinfach(?:e|en|t)?\b|formulier(?:e|en|t)?\b|(?:bitte )?(?:ausführlicher|kürzer|knapper|förmlicher|"
        r"lockerer|freundlicher|höflicher)\b|prüf\w* (?:\w+ ){0,4}(?:rechtschreibung|grammatik|fehler)|"
        r"mach\w* (?:\w+ ){0,3}(?:freundlicher|förmlicher|höflicher|lockerer|professioneller|kürzer|länger)"
    ),
    translate=r"übersetz\w*|übertrag\w* (?:\w+ ){0,3}ins|mach\w* (?:\w+ ){0,3}auf (?=deutsch|englisch|spanisch|französisch|italienisch|russisch|chinesisch|japanisch|portugiesisch)",
    half=r"hälfte|halb so lang",
    shorter=r"kürz\w*|kürzer|knapper|straff\w*|verdicht\w*|komprimier\w*|auf die hälfte|halb so lang",
    longer=r"erweiter\w*|ausführlicher|länger|ausbau\w*|ausformulier\w*|ergänz\w*",
    summary=r"zusammenfass\w*|fass\w* (?:\w+ ){0,4}zusammen|zusammenfassung",
    asks_about=(
        r"was bedeutet|was hältst du|was meinst du|meinung|feedback|ist (?:das|dies) korrekt|wie sagt man|antwort\w*|"
        r"nicht (?:\w+ )?korrigier\w*|ohne (?:es )?zu korrigieren|welche note"
    ),
    languages={
        r"englisch\w*": "en",
        r"deutsch\w*": "de",
        r"spanisch\w*": "es",
        r"portugiesisch\w*": "pt",
        r"französisch\w*": "fr",
        r"italienisch\w*": "it",
        r"russisch\w*": "ru",
        r"chinesisch\w*": "zh",
        r"japanisch\w*": "ja",
    },
)

RUSSIAN = TransformWords(
    code="ru",
    rewrite=(
        r"исправ(?:ь|ьте|ить)\w*|проверь\w*|отредактир\w*|отредактируй\w*|перепиш\w*|перефразир\w*|"
        r"улучш(?:и|ите|ить)\w*|"
        r"сократ\w*|сократи|расшир\w*|разверн\w*|распиш\w*|сделай\w* (?:\w+ ){0,3}(?:более|менее|\w+ее|по\w+че|короче)\b|"
        r"упрост(?:и|ите|ить)\w*|адаптируй\w*|смягч(?:и|ите)\w*|доработа\w*|поправ(?:ь|ьте)\w*|переформулир\w*"
    ),
    translate=r"перевед\w*|переве[сд]\w*|перевод\w*",
    half=r"вдвое|в два раза",
    shorter=r"сократ\w*|короче|сжа\w*|ужм\w*|вдвое",
    longer=r"расшир\w*|длиннее|подробнее|разверн\w*|дополн\w*|распиш\w*",
    summary=r"кратк\w+ (?:содержани|изложени|пересказ)\w*|выжимк\w*|перескаж\w* кратко|суммаризир\w*",
    asks_about=(
        r"что значит|что означает|что ты думаешь|мнение|отзыв|правильно ли|как сказать|ответ\w*|"
        r"как (?:лучше )?перевести|слово «|не исправляй\w*|без исправлени\w*|какую оценку"
    ),
    languages={
        r"английск\w*": "en",
        r"русск\w*": "ru",
        r"испанск\w*": "es",
        r"португальск\w*": "pt",
        r"французск\w*": "fr",
        r"итальянск\w*": "it",
        r"немецк\w*": "de",
        r"китайск\w*": "zh",
        r"японск\w*": "ja",
    },
)

CHINESE = TransformWords(
    code="zh",
    rewrite=(
        r"改写|润色|修改|校对|纠正|改正|检查.{0,12}(?:语法|错别字|拼写|错误)|重写|改得|改一下|改成|精简|缩短|压缩|缩成|"
        r"缩减|删减|简化|缩到|换个说法|换种说法|降重|详细一点|展开说说|再详细|"
        r"扩写|扩展|扩充|优化|调整.{0,4}(?:语气|措辞)|正式一点|委婉一点|通顺"
    ),
    translate=r"翻译|翻成|译成|译为|翻一下|英译|中译",
    half=r"一半",
    shorter=r"精简|缩短|压缩|删减|简短|短一点|简洁|一半",
    longer=r"扩写|扩展|扩充|丰富|详细一点|长一点|展开",
    summary=r"总结|摘要|概括|归纳|概述",
    asks_about=r"什么意思|你觉得|怎么看|评价|意见|对不对|是否正确|怎么说|回复|回信|有没有|不用改|不要改|打分|几分",
    languages={
        r"英文|英语": "en",
        r"中文|汉语|简体中文|繁体中文": "zh",
        r"日文|日语": "ja",
        r"西班牙语|西班牙文": "es",
        r"葡萄牙语|葡萄牙文": "pt",
        r"法语|法文": "fr",
        r"意大利语|意大利文": "it",
        r"德语|德文": "de",
        r"俄语|俄文": "ru",
    },
)

JAPANESE = TransformWords(
    code="ja",
    rewrite=(
        r"添削|校正|推敲|修正|直して|直した|直し|書き直|書き換え|言い換え|リライト|整えて|短く|膨らませ|加筆|"
        r"丁寧に|柔らかく|柔らかい感じ|やわらか|敬語|簡潔に|チェックして|誤字脱字|"
        r"にして(?:ください|ほしい|もらえ|くれ|下さい|[！!。]|$)|言い回しを変え|変えてください"
    ),
    translate=r"翻訳|訳して|訳す|英訳|和訳|訳を|語にして",
    half=r"半分",
    shorter=r"短く|簡潔|削って|縮め|コンパクト|半分",
    longer=r"膨らませ|長く|詳しく|加筆|肉付け|拡張",
    summary=r"要約|まとめて|まとめ|概要",
    asks_about=r"どういう意味|どう思|意見|感想|正しいですか|合っていますか|何と言|返信|返事|おかしくない|評価|何点|添削はいらない|直さなくて",
    languages={
        r"英語": "en",
        r"日本語": "ja",
        r"中国語": "zh",
        r"スペイン語": "es",
        r"ポルトガル語": "pt",
        r"フランス語": "fr",
        r"イタリア語": "it",
        r"ドイツ語": "de",
        r"ロシア語": "ru",
    },
)

TRANSFORM_WORDS: dict[str, TransformWords] = {
    words.code: words for words in (SPANISH, PORTUGUESE, FRENCH, ITALIAN, GERMAN, RUSSIAN, CHINESE, JAPANESE)
}
"""The tables by language code."""
