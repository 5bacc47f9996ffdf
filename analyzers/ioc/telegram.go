package ioc

import "bytes"

// tokenChar: the alphabet of a bot token's secret half.
func tokenChar(c byte) bool { return alnum(c) || c == '_' || c == '-' }

func digit(c byte) bool { return c >= '0' && c <= '9' }

// botToken checks for a Telegram bot token around the ':' at t[p]: 8-10
// digits (the bot id), ':', exactly 35 token characters. It returns the
// token's end, or 0.
func (x *extractor) botToken(p int) int {
	t := x.t
	s := p
	for s > 0 && p-s <= 10 && digit(t[s-1]) {
		s--
	}
	if n := p - s; n < 8 || n > 10 {
		return 0
	}
	e := p + 1 + 35
	if e > len(t) || e < len(t) && tokenChar(t[e]) {
		return 0
	}
	for _, c := range t[p+1 : e] {
		if !tokenChar(c) {
			return 0
		}
	}
	x.emit(TelegramToken, string(t[s:e]), "", s, e)
	return e
}

// chatIDs finds chat ids where code hands them to the Bot API: a name
// chat_id / chatId / chat-id / CHAT_ID (optionally with a suffix such as
// _admin or 2, optionally quoted or in [...]), then "=", ":", "=>" or ","
// (define('CHAT_ID', ...)), then the value, optionally quoted: an integer
// (negative for groups and channels, 5-20 digits) or "@channelname". That
// covers sendMessage?chat_id=-100..., "chat_id" => "...", chat_id: -100,
// $chat_id = "...", {"chat_id": 123} and define('CHAT_ID', '123').
func (x *extractor) chatIDs() {
	t := x.t
	for _, pat := range []string{"chat", "Chat", "CHAT"} {
		for i := 0; i < len(t); {
			k := bytes.Index(t[i:], []byte(pat))
			if k < 0 {
				break
			}
			p := i + k
			i = p + 4
			if end := x.chatAt(p); end > 0 {
				i = end
			}
		}
	}
}

func (x *extractor) chatAt(p int) int {
	t := x.t
	j := p + 4
	if j < len(t) && (t[j] == '_' || t[j] == '-') {
		j++
	}
	if j+2 > len(t) || lower(t[j]) != 'i' || lower(t[j+1]) != 'd' {
		return 0
	}
	j += 2
	if j < len(t) && (t[j] == '_' || digit(t[j])) {
		for j < len(t) && identChar(t[j]) {
			j++
		}
	} else if j < len(t) && alnum(t[j]) {
		return 0 // chatIdentifier, chat_ids
	}
	for j < len(t) && (t[j] == '"' || t[j] == '\'' || t[j] == ']' || t[j] == ' ' || t[j] == '\t') {
		j++
	}
	switch {
	case bytes.HasPrefix(t[j:], []byte("=>")):
		j += 2
	case j < len(t) && (t[j] == '=' || t[j] == ':' || t[j] == ','):
		j++
	default:
		return 0
	}
	for j < len(t) && (t[j] == ' ' || t[j] == '\t' || t[j] == '"' || t[j] == '\'' || t[j] == '`') {
		j++
	}
	s := j
	switch {
	case j < len(t) && t[j] == '@':
		j++
		for j < len(t) && j-s <= 33 && identChar(t[j]) {
			j++
		}
		if n := j - s - 1; n < 5 || n > 32 {
			return 0
		}
	default:
		if j < len(t) && t[j] == '-' {
			j++
		}
		d := j
		for j < len(t) && j-d <= 20 && digit(t[j]) {
			j++
		}
		if n := j - d; n < 5 || n > 20 {
			return 0
		}
	}
	if j < len(t) && identChar(t[j]) {
		return 0
	}
	x.emit(TelegramChat, string(t[s:j]), "", s, j)
	return j
}
