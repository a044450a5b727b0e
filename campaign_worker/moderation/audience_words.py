"""Built-in evidence words for the well-known audience keys, German and English.

A word is folded like a hashtag (ä → ae, ß → ss, lower case) before it is compared, so both
umlaut spellings match. Forms:
- `stem`   matches a word that starts with it („ausbildung“ in „Ausbildungsstart“);
- `*stem`  also matches inside a compound („Pflegeausbildung“ → „ausbildung“);
- `=word`  matches only the whole word („pj“, „job“).
The number is the weight of one match; a campaign's own `keywords` count 1.0 as `stem`.
"""

from __future__ import annotations

AUDIENCE_WORDS: dict[str, dict[str, float]] = {
    "fachkraefte": {
        # changing or starting a job, leading, the workplace's institutions; trades and roles in English
        "gekuendigt": 1.0, "beworben": 1.0, "bewerbungen": 0.8, "ausschreibung": 1.0, "*leiter": 0.8, "*leiterin": 0.8,
        "=chef": 0.8, "=chefin": 0.8, "*handwerker": 1.0, "betriebsrat": 1.2, "tarifvertrag": 1.2, "=vertrieb": 0.8,
        "*schicht": 0.8, "=welder": 1.2, "=nurse": 1.0, "=chemist": 1.0, "=boss": 1.0, "=newbie": 0.6, "=leiharbeiter": 1.2,
        "=quereinsteigerin": 1.2, "=absolventen": 1.0, "=absolventinnen": 1.0, "*kolleginnen": 0.9, "=vollzeitstelle": 1.5,
        # job titles that imply a job without a job word, German and English
        "*elektroniker": 1.0, "*mechatroniker": 0.8, "*projektleiter": 1.2, "*buchhalter": 1.2, "*erzieher": 1.0,
        "friseur": 0.8, "*lehrerin": 1.0, "=lehrer": 1.0, "*pflegefachfrau": 1.0, "*pflegefachmann": 1.0,
        "*krankenpfleger": 1.0, "*kaufmann": 0.8, "*kauffrau": 0.8, "*informatiker": 1.2, "*schweisser": 1.0,
        "*monteur": 1.0, "*fahrer": 0.5, "*berater": 0.8, "*sachbearbeiter": 1.2, "*referent": 0.8, "=gesellen": 0.8,
        "=gesellinnen": 0.8, "=geselle": 0.8, "=gesellin": 0.8, "uebernommen": 0.8, "unbefristet": 1.2, "=tarif": 0.8,
        "mitarbeitende": 1.0, "mitarbeiter": 1.0, "belegschaft": 1.2, "*abteilung": 0.6, "*teamevent": 1.0,
        "firmenlauf": 1.0, "betriebsausflug": 1.2, "*teamausflug": 1.0, "*softwarefirma": 1.0, "=startup": 0.8,
        "=hired": 1.5, "=staff": 1.0, "=employees": 1.2, "=workplace": 1.2, "=our team": 1.0, "=new job": 1.5,
        "=rueckkehrer": 1.2, "rueckkehrertreffen": 1.5, "=berufseinstieg": 1.0, "=arbeitsalltag": 1.0,
        "festanstellung": 1.5, "*designer": 1.2, "*architekt": 1.2, "=analyst": 1.2, "*gaertner": 0.8, "neuer job": 1.5, "=erste stelle": 1.5, "*controller": 1.2, "konstrukteur": 1.2, "=elektromeister": 1.5, "*meisterin": 1.2, "=newhires": 1.5, "=postdoc": 1.2, "*ingenieurin": 1.2, "=servicekraft": 1.3, "=gesucht": 1.0, "=schichtleiter": 1.5, "=werkstudent": 1.0, "=hiring": 1.5, 
        "=job": 1.2, "=jobs": 1.2, "*job": 0.8, "jobwechsel": 1.2, "*stelle": 0.6, "stellenangebot": 1.5, "*stellenanzeige": 1.5,
        "karriere": 1.0, "*fachkraft": 1.0, "*fachkraefte": 1.0, "arbeitgeber": 1.2, "*kollege": 0.9, "*kollegin": 0.9,
        "arbeite": 0.8, "arbeitet": 0.6, "=arbeiten": 0.6, "*arbeitsplatz": 1.0, "homeoffice": 1.2, "remote": 1.2,
        "*ingenieur": 1.2, "*entwickler": 1.2, "developer": 1.2, "engineer": 1.2, "=team": 0.5, "*team": 0.4,
        "vorstellungsgespraech": 1.5, "=wir suchen": 1.5, "=sucht": 1.2, "=suchen": 0.6, "verstaerkung": 1.3, "bewerbung": 0.6,
        "=m/w/d": 1.0, "(m/w/d)": 1.0, "vollzeit": 1.2, "teilzeit": 1.0, "gehalt": 1.0, "meisterbrief": 1.2, "=meister": 1.0,
        "tischler": 1.0, "*schreiner": 1.0, "*handwerk": 0.8, "*mechaniker": 1.0, "*elektriker": 1.0, "*techniker": 1.0,
        "bauleiter": 1.2, "vorarbeiter": 1.0, "*verkaeufer": 0.8, "*baecker": 0.6, "*leitung": 0.6, "*manager": 1.0,
        "blaue karte": 1.5, "blue card": 1.5, "bluecard": 1.5, "=work": 1.0, "=working": 1.0, "=colleague": 1.0, "colleagues": 1.0,
        "=hiring": 1.5, "career": 1.0, "employer": 1.2, "=position": 0.8, "weiterbildung": 0.7, "firma": 0.6,
        "unternehmen": 0.5, "betrieb": 0.5, "feierabend": 0.6, "=beruf": 0.6, "berufserfahrung": 1.0, "quereinsteiger": 1.2,
        "anerkennung": 0.8, "nachfolge": 1.0, "pendel": 0.8, "coworking": 1.2, "fachwort": 0.5, "=angefangen": 0.5,
        "arbeitsvertrag": 1.5, "=contract": 1.0, "=office": 0.8, "=data": 0.3, "=software": 0.6, "*logistik": 0.4,
    },
    "azubis": {
        "*schueler": 0.8, "*schuelerin": 0.8, "=nursing training": 1.5, "=training": 0.5, "abschlusspruefung": 1.2,
        "praxiseinsatz": 1.2, "=zukunftstag": 1.0, "=trainee nurse": 1.5, "=nursing student": 1.2, "ausbildungsvertrag": 1.5,
        # training of any kind, its years and exams, also in English
        "umschulung": 1.5, "ausbildungsjahr": 1.5, "=apprentices": 1.5, "=trainee nurse": 1.5, "skillslab": 1.2,
        "berufskolleg": 1.2, "auszubildenden": 1.5, "=lerne": 0.8, "=lernt": 0.6, "=fsj": 0.8, "=bufdi": 0.8,
        "ausbildungsmesse": 1.5, "*azubine": 1.5, "=lehrling": 1.5, "=lehrlinge": 1.5, "=abschlussfeier": 0.6,
        "=gesellenstueck": 1.5, "=freisprechung": 1.5, "=ausbildungsberuf": 1.5, "=trainees": 1.2,
        "wir bilden aus": 2.5, "=azubine": 1.5, "bilden aus": 2.0, "generalistisch": 1.2, "=lehrjahr": 2.0, "=im ersten lehrjahr": 2.5, "=ausbildungsplaetze": 1.5, "schuelerpraktikum": 1.5, "*praktikumswoche": 1.2, "=mfa-azubi": 1.5, 
        "*ausbildung": 1.5, "*azubi": 1.5, "auszubildende": 1.5, "=lehre": 1.2, "lehrling": 1.5, "*lehrstelle": 1.5, "berufsschul": 1.5,
        "ausbildungsplatz": 1.5, "praktikum": 1.0, "praktikant": 1.0, "schulabschluss": 1.2, "=abschluss": 0.6,
        "schueler": 1.0, "=schule": 0.4, "duales studium": 1.5, "dual studieren": 1.5, "=dual": 0.8, "girlsday": 1.5, "girls day": 1.5,
        "girls' day": 1.5, "boysday": 1.5, "=apprentice": 1.5, "apprenticeship": 1.5, "=trainee": 1.2, "trainees": 1.2,
        "=internship": 1.0, "gesellenbrief": 1.2, "gesellenpruefung": 1.5, "=examen": 0.8, "zwischenpruefung": 1.2,
        "bewerbungsfrist": 1.0, "=klasse": 0.5, "generalistik": 1.5, "pflegeschule": 1.5, "ausbilder": 1.2,
        "ausbildungsstart": 1.5, "=lehrjahr": 1.5, "*lehrjahr": 1.5, "berufsorientierung": 1.2, "=nursing school": 1.5,
        "tag der offenen tuer": 0.6, "tagderoffenen": 0.6, "=schnupper": 1.0, "schnuppertag": 1.2, "=school": 0.4,
    },
    "familien": {
        "tagesmutter": 1.5, "seepferdchen": 1.5, "schwimmkurs": 1.2, "laternenumzug": 1.2, "martinsumzug": 1.2, "zahnfee": 1.5, "=freibad": 0.6,
        "sommerferien": 0.6, "=schultag": 0.6, "=zwillinge": 1.2, "=twins": 1.2, "=alleinerziehend": 1.5, "=alleinerziehende": 1.5,
        # children by age and kin, German and English
        "=jungs": 1.0, "=maedchen": 0.8, "=nachwuchs": 1.0, "grosseltern": 1.0, "=kinderwagen": 1.5, "=familienfreundlich": 1.2,
        "=mamas": 1.0, "=papas": 1.0, "*jaehrige": 1.0, "*jaehriger": 0.8, "=year-old": 1.0, "=toddler": 1.5, "=my kids": 1.5,
        "=schwangerschaft": 1.5, "=elternzeit": 1.2, "=kleinkind": 1.5, "=babys": 1.2, "=my wife": 0.8, "=meine frau": 0.8,
        "=mein mann": 0.8, "=geschwister": 0.8, "=kindergeburtstag": 1.5, "=stillen": 1.0,
        "*familie": 1.2, "family": 1.2, "families": 1.2, "=kind": 1.0, "*kinder": 1.0, "kids": 1.2, "=kid": 1.0,
        "*kita": 1.5, "*kindergarten": 1.5, "spielplatz": 1.5, "schwimmbad": 0.8, "babyschwimmen": 1.5, "=baby": 1.2,
        "=sohn": 1.2, "tochter": 1.2, "=oma": 0.5, "=opa": 0.5, "enkel": 0.8, "=eltern": 1.0, "elternzeit": 1.2,
        "=mama": 1.0, "=papa": 1.0, "=mum": 1.0, "=mom": 1.0, "=dad": 1.0, "=daughter": 1.2, "=son": 1.2, "children": 1.2,
        "=meine kleine": 1.2, "=die kleine": 1.0, "=unsere kleine": 1.2, "=die kleinen": 1.0,
        "schulweg": 1.2, "einschulung": 1.5, "grundschule": 1.5, "=schulkind": 1.5, "=zuhause": 0.4, "heimkehr": 0.8,
        "eigenheim": 1.2, "=haus mit garten": 1.2, "=garten": 0.5, "bauplatz": 1.2, "grundstueck": 0.8, "=generationen": 0.8,
        "kinderarzt": 1.0, "kinderbetreuung": 1.5, "=kletterpark": 0.8, "familienkarte": 1.5, "=playground": 1.5,
        "=wife": 0.8, "=husband": 0.8, "=partnerin": 0.4, "=schwanger": 1.5, "=geburt": 1.2, "=pregnant": 1.5,
        "=zurueck": 0.4, "=wurzeln": 0.6, "=elternabend": 1.5, "=tanzschule": 0.6, "=ausflug": 0.6, "=familienausflug": 1.5,
    },
    "studierende": {
        "=ersti": 1.5, "=erstis": 1.5, "fachschaft": 1.5, "=med students": 1.5, "=med student": 1.5, "blockpraktikant": 2.0,
        "=praepkurs": 1.5, "=lehrpraxis": 0.8,
        # medical and nursing students, their terms and placements
        "*student": 1.2, "*studentin": 1.2, "=studis": 1.2, "=famulanten": 2.0, "=hospitation": 0.8, "=bachelor": 0.8,
        "=doktorarbeit": 0.6, "=lernplan": 1.0, "=anatomie": 0.6, "*studiengang": 1.2, "=studying": 1.2,
        "blockpraktikum": 2.0, "=pjler": 2.0, "pj-": 2.0, "=medizinstudierende": 2.0, "=famulant": 2.0, "=pflegestudium": 1.5, 
        "*studium": 1.5, "medizinstudium": 1.5, "studier": 1.2, "=student": 1.2, "*studenten": 1.2, "studentin": 1.2, "*studierende": 1.5,
        "famulatur": 2.5, "=pj": 2.5, "praktisches jahr": 1.5, "=uni": 0.8, "*hoersaal": 1.2, "=semester": 1.2, "*semester": 1.0,
        "=vorlesung": 1.0, "physikum": 1.5, "=stex": 1.5, "staatsexamen": 1.2, "=m2": 1.2, "=m3": 1.2, "=studies": 1.2,
        "med school": 1.5, "=medical student": 1.5, "=students": 1.2, "=elective": 1.2, "=hochschule": 1.0, "praxisphase": 1.0,
        "landarztquote": 1.5, "stipendium": 1.5, "=tertial": 2.5, "=klausur": 1.0, "=lernen": 0.3, "=exam": 0.8,
        "=clerkship": 1.5, "*pj-": 1.5, "=studienplatz": 1.5,
    },
    "pflege": {
        "=pflegende": 1.3, "=pflegenden": 1.3, "*pflegefachkraft": 1.5, "*pflegefachkraefte": 1.5, "=springer": 0.8,
        "fachweiterbildung": 1.2, "=stationspflege": 1.5, "=its": 0.6,
        # nursing work, wards and shifts
        "=zna": 1.0, "nachtschicht": 1.3, "=nurselife": 1.2, "=angehoerige": 0.6, "=pflegehelfer": 1.0,
        "*pflegeteam": 1.3, "=dienstplan": 0.8, "=wundversorgung": 1.0, "=stoma": 0.8, "=reanimiert": 0.8,
        "*stationen": 0.6, "=schichtdienst": 1.3, "=nursing staff": 1.5, "=night shifts": 1.2, "=pflegedienst": 1.3,
        "hebamme": 1.5, "notaufnahme": 0.5, "geriatrie": 1.0, "fachangestellte": 1.3, "=stationsleitung": 1.5, "*kreisssaal": 1.0, 
        "*pflege": 1.0, "*pflegekraft": 1.3, "*pflegekraefte": 1.3, "pflegefach": 1.5, "=station": 0.6, "*station": 0.6,
        "*schicht": 0.7, "*dienst": 0.4, "nachtdienst": 1.3, "fruehdienst": 1.3, "spaetdienst": 1.3, "=intensiv": 0.6,
        "intensivstation": 0.6, "krankenschwester": 1.5, "krankenpfleger": 1.5, "=nurse": 1.5, "nurses": 1.5, "nursing": 1.2,
        "=shift": 1.0, "night shift": 1.2, "=ward": 1.0, "=patient": 0.5, "patienten": 0.5, "bewohner": 0.8, "altenpflege": 1.5,
        "=mfa": 1.5, "praxisanleiter": 1.2, "wundexpert": 1.5, "*pfleger": 1.3, "*pflegerin": 1.3, "=op": 0.5, "=care": 0.8,
        "palliativ": 0.8, "=caregiver": 1.5, "*fachpflege": 1.5, "anerkennung": 0.4, "=careworker": 1.5, "=icu": 1.0,
    },
    "aerzte": {
        "*aerzt": 1.3, "niedergelassen": 1.2, "=residents": 1.5, "=gp": 1.2, "=rotation": 0.6, "=weiterbildung": 0.6,
        "*fachaerztin": 1.5, "=kinderaerztin": 1.0, "=kinderarzt": 1.0, "=bedside": 0.6,
        # doctors' titles, training and departments, German and English
        "*oberaerzte": 1.5, "*chefaerztin": 1.5, "weiterbildungsbefugnis": 1.5,
        "=weiterbildungsassistent": 1.5, "=facharztpruefung": 1.5, "*heilkunde": 0.6, "=herzkatheter": 1.0,
        "=doctors": 1.5, "*aerztinnen": 1.3, "=arztpraxis": 1.0, "=sprechstunde": 0.6, "=dienstarzt": 1.5,
        "=doc": 1.0, "=docs": 1.0, "=junior doctor": 1.5, "=medical doctor": 1.5, "=md": 0.8,
        
        "*arzt": 1.3, "*aerztin": 1.3, "*aerzte": 1.3, "assistenzarzt": 1.5, "assistenzaerztin": 1.5, "*oberarzt": 1.5,
        "*oberaerztin": 1.5, "facharzt": 1.5, "chefarzt": 1.5, "landarzt": 1.5, "hausarzt": 1.5, "=praxis": 0.5,
        "=doctor": 1.5, "doctors": 1.5, "=physician": 1.5, "=residency": 1.5, "=resident": 1.2, "approbation": 1.5,
        "kenntnispruefung": 1.5, "=medicine": 0.8, "facharztausbildung": 1.5, "weiterbildungsverbund": 1.2,
        "allgemeinmedizin": 1.2, "anaesthesi": 1.2, "anesthesi": 1.2, "*chirurg": 1.3, "=surgeon": 1.5, "surgery": 0.4,
        "=internist": 1.5, "=kardiolog": 1.2, "=radiolog": 1.0, "=paediatri": 1.0, "paediatrie": 1.0, "=gastarzt": 1.5,
        "*mediziner": 1.3, "medizinerin": 1.3, "notarzt": 1.5, "=dr.": 0.8, "=ultrasound": 0.8, "=ultraschall": 0.8,
        "*visite": 0.8, "=patients": 0.4, "niederlassung": 1.2, "=praxisuebernahme": 1.5, "=hausarztpraxis": 1.5,
    },
}


# Job titles: in a post about training („Ausbildung zum Elektroniker“, „Ausbildung zur
# Pflegefachfrau“) they name what someone trains for, not the audience, and count only a little.
TRAINING_AUDIENCE = "azubis"
JOB_TITLES: dict[str, frozenset[str]] = {
    "fachkraefte": frozenset("""
        designer architekt analyst gaertner controller konstrukteur elektromeister meisterin ingenieurin servicekraft
        schichtleiter ingenieur entwickler developer engineer tischler schreiner mechaniker elektriker techniker bauleiter
        vorarbeiter verkaeufer baecker manager meister elektroniker mechatroniker projektleiter buchhalter erzieher friseur
        lehrerin lehrer pflegefachfrau pflegefachmann krankenpfleger kaufmann kauffrau informatiker schweisser monteur fahrer
        berater sachbearbeiter referent fachkraft fachkraefte handwerker leiter leiterin welder chemist
    """.split()),
    "pflege": frozenset("""
        pflegefach pflegekraft pflegekraefte krankenschwester krankenpfleger pfleger pflegerin pflegefachkraft
        pflegefachkraefte altenpflege pflegehelfer nurse fachangestellte mfa
    """.split()),
}
